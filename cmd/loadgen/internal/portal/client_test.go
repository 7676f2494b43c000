package portal

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestVisitorSendsHostAndClientAddressKeepsCookiesAndFollowsSeeOther(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, _ := r.Cookie("lk_flow")
		val := ""
		if ck != nil {
			val = ck.Value
		}
		seen = append(seen, r.Method+" "+r.URL.Path+" host="+r.Host+" xff="+r.Header.Get("X-Forwarded-For")+" cookie="+val)
		switch r.URL.Path {
		case "/reset":
			_ = r.ParseForm()
			if r.PostForm.Get("username") != "ann" {
				http.Error(w, "no username", http.StatusBadRequest)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "lk_flow", Value: "tok", Path: "/"})
			http.Redirect(w, r, "/flow", http.StatusSeeOther)
		case "/flow":
			_, _ = w.Write([]byte(choosePage))
		case "/end":
			http.SetCookie(w, &http.Cookie{Name: "lk_flow", Value: "", Path: "/", MaxAge: -1})
			_, _ = w.Write([]byte(donePage))
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	v := NewClient(u.Host, 4).Visitor("bench1.localhost:8080", "198.18.0.7")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, _, err := v.Submit(ctx, "/reset", url.Values{"username": {"ann"}})
	if err != nil || p.Kind != KindChoose {
		t.Fatalf("page %+v, %v", p, err)
	}
	if _, err := v.Get(ctx, "/end"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get(ctx, "/flow"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST /reset host=bench1.localhost:8080 xff=198.18.0.7 cookie=",
		"GET /flow host=bench1.localhost:8080 xff=198.18.0.7 cookie=tok",
		"GET /end host=bench1.localhost:8080 xff=198.18.0.7 cookie=tok",
		"GET /flow host=bench1.localhost:8080 xff=198.18.0.7 cookie=", // deleted by /end
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

func TestClassNamesTheStepAndThePage(t *testing.T) {
	err := &StepError{Step: "reset start", Want: KindChoose, Got: Page{Kind: KindCaptcha, Status: 200}}
	if got := Class(err); got != "reset start: captcha 200" {
		t.Fatalf("class %q", got)
	}
	if Class(nil) != "" || Class(context.DeadlineExceeded) != "timeout" {
		t.Fatal("class of nil or a timeout")
	}
}
