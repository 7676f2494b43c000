package mobileclient

import (
	"errors"
	"strings"
	"testing"
)

const (
	linkID     = "AAECAwQFBgcICQoLDA0ODw"                      // 22
	linkSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" // 43
)

func TestParseLink(t *testing.T) {
	l, err := ParseLink("  https://acme.example.com/m/enroll?id=" + linkID + "&secret=" + linkSecret + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if l != (Link{BaseURL: "https://acme.example.com", ID: linkID, Secret: linkSecret}) {
		t.Fatalf("%+v", l)
	}
	l, err = ParseLink("http://127.0.0.1:8080/m/enroll?secret=" + linkSecret + "&id=" + linkID)
	if err != nil || l.BaseURL != "http://127.0.0.1:8080" {
		t.Fatalf("%+v %v", l, err)
	}
	if l, err = ParseLink("http://acme.localhost:8080/m/enroll?id=" + linkID + "&secret=" + linkSecret); err != nil || l.BaseURL != "http://acme.localhost:8080" {
		t.Fatalf("%+v %v", l, err)
	}
}

func TestParseLinkRefuses(t *testing.T) {
	q := "?id=" + linkID + "&secret=" + linkSecret
	for name, raw := range map[string]string{
		"plain http":      "http://acme.example.com/m/enroll" + q,
		"other scheme":    "ftp://acme.example.com/m/enroll" + q,
		"no host":         "/m/enroll" + q,
		"other path":      "https://acme.example.com/m/enrol" + q,
		"user info":       "https://u:p@acme.example.com/m/enroll" + q,
		"fragment":        "https://acme.example.com/m/enroll" + q + "#x",
		"no secret":       "https://acme.example.com/m/enroll?id=" + linkID,
		"two ids":         "https://acme.example.com/m/enroll" + q + "&id=" + linkID,
		"short secret":    "https://acme.example.com/m/enroll?id=" + linkID + "&secret=" + linkSecret[:42],
		"padded id":       "https://acme.example.com/m/enroll?id=" + linkID[:20] + "==&secret=" + linkSecret,
		"not base64url":   "https://acme.example.com/m/enroll?id=" + strings.Repeat("+", 22) + "&secret=" + linkSecret,
		"extra parameter": "https://acme.example.com/m/enroll" + q + "&tenant=globex",
		"garbage":         "%zz",
	} {
		if _, err := ParseLink(raw); !errors.Is(err, ErrBadLink) {
			t.Errorf("%s: ParseLink(%q) = %v, want ErrBadLink", name, raw, err)
		}
	}
}

func FuzzParseLink(f *testing.F) {
	f.Add("https://acme.example.com/m/enroll?id=" + linkID + "&secret=" + linkSecret)
	f.Add("http://localhost/m/enroll?id=&secret=")
	f.Add("https://[::1]:99999/m/enroll")
	f.Fuzz(func(t *testing.T, raw string) {
		l, err := ParseLink(raw)
		if err != nil {
			if !errors.Is(err, ErrBadLink) {
				t.Fatalf("error %v does not wrap ErrBadLink", err)
			}
			return
		}
		if len(l.ID) != 22 || len(l.Secret) != 43 || !(strings.HasPrefix(l.BaseURL, "https://") || strings.HasPrefix(l.BaseURL, "http://")) {
			t.Fatalf("accepted %q as %+v", raw, l)
		}
	})
}
