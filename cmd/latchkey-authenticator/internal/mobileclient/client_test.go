package mobileclient_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/fakeserver"
	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
	"github.com/latchkey/latchkey/push/challenge"
)

// clock is a movable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	fake   *fakeserver.Server
	url    string
	server *clock // the server's clock
	device *clock // the device's clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{server: &clock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}, device: &clock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}}
	fake, err := fakeserver.New(fakeserver.Config{Now: e.server.Now})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	e.fake, e.url = fake, ts.URL
	return e
}

// enroll enrolls a fresh device and returns its client.
func (e *env) enroll(t *testing.T, username string) *mobileclient.Client {
	t.Helper()
	raw, err := e.fake.NewEnrollment(e.url, fakeserver.User{ID: "u-" + username, Username: username, DisplayName: username})
	if err != nil {
		t.Fatal(err)
	}
	link, err := mobileclient.ParseLink(raw)
	if err != nil {
		t.Fatal(err)
	}
	key, err := mobileclient.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := mobileclient.EncodePublicKey(&key.PublicKey)
	keyID, _ := mobileclient.NewKeyID(rand.Reader)
	res, err := mobileclient.Enroll(context.Background(), http.DefaultClient, link.BaseURL, mobileclient.EnrollRequest{
		EnrollmentID: link.ID, Secret: link.Secret, PublicKey: pub, KeyID: keyID, Platform: "cli", Name: "test", PushToken: "",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.User.Username != username || res.Tenant.Name != "Acme" || res.PollIntervalSeconds != 5 {
		t.Fatalf("enrolled %+v", res)
	}
	return &mobileclient.Client{BaseURL: link.BaseURL, HTTP: http.DefaultClient, KeyID: keyID,
		Signer: mobileclient.Signer{DeviceID: res.DeviceID, Key: key, Rand: rand.Reader, Now: e.device.Now}}
}

func (e *env) push(t *testing.T, c *mobileclient.Client) *challenge.Challenge {
	t.Helper()
	ch, err := e.fake.Push(c.Signer.DeviceID, challenge.Purpose("reset"), challenge.Context{
		TenantName: "Acme", App: "Self-service portal", IP: "203.0.113.7", Browser: "Firefox on Windows",
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !mobileclient.HasCode(err, code) {
		t.Fatalf("err = %v, want the API error %s", err, code)
	}
}

func TestEnrollmentLinkWorksOnce_R32(t *testing.T) {
	e := newEnv(t)
	raw, _ := e.fake.NewEnrollment(e.url, fakeserver.User{ID: "u1", Username: "ann"})
	link, _ := mobileclient.ParseLink(raw)
	key, _ := mobileclient.GenerateKey()
	pub, _ := mobileclient.EncodePublicKey(&key.PublicKey)
	req := mobileclient.EnrollRequest{EnrollmentID: link.ID, Secret: link.Secret, PublicKey: pub, KeyID: "k1", Platform: "cli", Name: "n"}
	if _, err := mobileclient.Enroll(context.Background(), http.DefaultClient, link.BaseURL, req); err != nil {
		t.Fatal(err)
	}
	_, err := mobileclient.Enroll(context.Background(), http.DefaultClient, link.BaseURL, req)
	wantCode(t, err, mobileclient.CodeEnrollmentInvalid)
	if mobileclient.Explain(err) != "This enrollment link is unknown, expired (links last 10 minutes) or already used; open Settings → Add the authenticator app for a new one." {
		t.Errorf("message %q", mobileclient.Explain(err))
	}
}

func TestEnrollmentLinkExpires_R32(t *testing.T) {
	e := newEnv(t)
	raw, _ := e.fake.NewEnrollment(e.url, fakeserver.User{ID: "u1", Username: "ann"})
	e.server.Add(10 * time.Minute)
	link, _ := mobileclient.ParseLink(raw)
	key, _ := mobileclient.GenerateKey()
	pub, _ := mobileclient.EncodePublicKey(&key.PublicKey)
	_, err := mobileclient.Enroll(context.Background(), http.DefaultClient, link.BaseURL, mobileclient.EnrollRequest{
		EnrollmentID: link.ID, Secret: link.Secret, PublicKey: pub, KeyID: "k1", Platform: "cli", Name: "n"})
	wantCode(t, err, mobileclient.CodeEnrollmentInvalid)
}

func TestSignedEndpoints(t *testing.T) {
	e := newEnv(t)
	c := e.enroll(t, "ann")
	ctx := context.Background()
	d, err := c.Device(ctx)
	if err != nil || d.DeviceID != c.Signer.DeviceID || d.Platform != "cli" || d.Push {
		t.Fatalf("device %+v, %v", d, err)
	}
	if d, err = c.Rename(ctx, "Ann's laptop"); err != nil || d.Name != "Ann's laptop" {
		t.Fatalf("rename %+v, %v", d, err)
	}
	if err := c.SetPushToken(ctx, "fcm-1"); err != nil {
		t.Fatal(err)
	}
	if d, _ = c.Device(ctx); !d.Push {
		t.Error("push is off after setting a token")
	}
	if err := c.SetPushToken(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if d, _ = c.Device(ctx); d.Push {
		t.Error("push is on after clearing the token")
	}
	list, err := c.Challenges(ctx)
	if err != nil || len(list) != 0 {
		t.Fatalf("challenges %v, %v", list, err)
	}
	ch1 := e.push(t, c)
	e.server.Add(time.Second)
	ch2 := e.push(t, c)
	list, err = c.Challenges(ctx)
	if err != nil || len(list) != 2 || list[0].CID != ch2.CID || list[1].CID != ch1.CID {
		t.Fatalf("challenges (newest first) %+v, %v", list, err)
	}
	got, err := c.Challenge(ctx, ch1.CID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "pending" || !got.NumberMatching || got.Purpose != "reset" || got.Context.IP != "203.0.113.7" ||
		got.Context.Browser != "Firefox on Windows" || !got.ExpiresAt.Equal(ch1.ExpiresAt) {
		t.Errorf("challenge %+v", got)
	}
	if err := c.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c.Device(ctx)
	wantCode(t, err, mobileclient.CodeUnauthenticated)
}

func TestAnswersAndTheirErrors_R28_R30(t *testing.T) {
	e := newEnv(t)
	c := e.enroll(t, "ann")
	ctx := context.Background()

	ch := e.push(t, c)
	res, err := c.Answer(ctx, ch.CID, challenge.DecisionApprove, ch.Number)
	if err != nil || res.State != "approved" {
		t.Fatalf("approve: %+v, %v", res, err)
	}
	_, err = c.Answer(ctx, ch.CID, challenge.DecisionDeny, 0)
	wantCode(t, err, mobileclient.CodeAlreadyAnswered)

	ch = e.push(t, c)
	wrong := ch.Number%89 + 10 // another number in 10..99
	if wrong == ch.Number {
		wrong++
	}
	_, err = c.Answer(ctx, ch.CID, challenge.DecisionApprove, wrong)
	wantCode(t, err, mobileclient.CodeWrongNumber)
	if mobileclient.Explain(err) != "That number was wrong; the request was denied." {
		t.Errorf("wrong number message %q", mobileclient.Explain(err))
	}
	if st, _ := e.fake.Challenge(ch.CID); st.State != challenge.StateDenied {
		t.Errorf("after a wrong number the challenge is %s", st.State)
	}

	ch = e.push(t, c)
	if res, err = c.Answer(ctx, ch.CID, challenge.DecisionDeny, 42); err != nil || res.State != "denied" {
		t.Fatalf("deny (the number is dropped): %+v, %v", res, err)
	}

	ch = e.push(t, c)
	e.server.Add(challenge.MaxLifetime)
	e.device.Add(challenge.MaxLifetime)
	_, err = c.Answer(ctx, ch.CID, challenge.DecisionApprove, ch.Number)
	wantCode(t, err, mobileclient.CodeExpired)

	other := e.enroll(t, "bob")
	ch = e.push(t, other)
	_, err = c.Answer(ctx, ch.CID, challenge.DecisionApprove, ch.Number)
	wantCode(t, err, mobileclient.CodeNotFound)
	_, err = c.Challenge(ctx, ch.CID)
	wantCode(t, err, mobileclient.CodeNotFound)

	// Last: a report freezes the user's pushes (R29).
	ch = e.push(t, c)
	if res, err = c.Answer(ctx, ch.CID, challenge.DecisionReport, 0); err != nil || res.State != "reported" {
		t.Fatalf("report: %+v, %v", res, err)
	}
	if _, err := e.fake.Push(c.Signer.DeviceID, "reset", challenge.Context{TenantName: "Acme", IP: "203.0.113.7", Browser: "x"}); err == nil {
		t.Error("a push after a report was allowed")
	}
}

func TestClockSkewIsRefused_R34(t *testing.T) {
	e := newEnv(t)
	c := e.enroll(t, "ann")
	e.device.Add(61 * time.Second)
	_, err := c.Challenges(context.Background())
	wantCode(t, err, mobileclient.CodeUnauthenticated)
	e.device.Add(-2 * 61 * time.Second)
	_, err = c.Challenges(context.Background())
	wantCode(t, err, mobileclient.CodeUnauthenticated)
	e.device.Add(61*time.Second + 59*time.Second)
	if _, err = c.Challenges(context.Background()); err != nil {
		t.Fatalf("59 s ahead: %v", err)
	}
}

// repeat reads the same bytes forever: every nonce is the same.
type repeat struct{}

func (repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 7
	}
	return len(p), nil
}

func TestReplayedNonceIsRefused_R34(t *testing.T) {
	e := newEnv(t)
	c := e.enroll(t, "ann")
	c.Signer.Rand = repeat{}
	if _, err := c.Challenges(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := c.Challenges(context.Background())
	wantCode(t, err, mobileclient.CodeUnauthenticated)
}

func TestAnotherKeyIsRefused_R31(t *testing.T) {
	e := newEnv(t)
	c := e.enroll(t, "ann")
	other, _ := mobileclient.GenerateKey()
	c.Signer.Key = other
	_, err := c.Challenges(context.Background())
	wantCode(t, err, mobileclient.CodeUnauthenticated)
}

func enrollRequest(t *testing.T, raw, keyID string) (mobileclient.Link, mobileclient.EnrollRequest) {
	t.Helper()
	link, err := mobileclient.ParseLink(raw)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := mobileclient.GenerateKey()
	pub, _ := mobileclient.EncodePublicKey(&key.PublicKey)
	return link, mobileclient.EnrollRequest{EnrollmentID: link.ID, Secret: link.Secret, PublicKey: pub, KeyID: keyID, Platform: "cli", Name: "n"}
}

func TestKeyIDTakenLeavesTheLinkUsable(t *testing.T) {
	e := newEnv(t)
	user := fakeserver.User{ID: "u1", Username: "ann"}
	raw, _ := e.fake.NewEnrollment(e.url, user)
	link, req := enrollRequest(t, raw, "same-key")
	if _, err := mobileclient.Enroll(context.Background(), http.DefaultClient, link.BaseURL, req); err != nil {
		t.Fatal(err)
	}
	raw, _ = e.fake.NewEnrollment(e.url, user)
	link, req = enrollRequest(t, raw, "same-key")
	_, err := mobileclient.Enroll(context.Background(), http.DefaultClient, link.BaseURL, req)
	wantCode(t, err, mobileclient.CodeKeyIDTaken)
	req.KeyID = "other-key"
	if _, err := mobileclient.Enroll(context.Background(), http.DefaultClient, link.BaseURL, req); err != nil {
		t.Fatalf("the link was used up by a refused key id: %v", err)
	}
}

func TestEnrollmentIsRateLimitedWithRetryAfter(t *testing.T) {
	e := newEnv(t)
	e.server.Add(3 * time.Minute) // 7 minutes left in the fixed window
	raw, _ := e.fake.NewEnrollment(e.url, fakeserver.User{ID: "u1", Username: "ann"})
	link, req := enrollRequest(t, raw, "k1")
	req.Secret = strings.Repeat("A", 43) // well-formed, wrong
	var err error
	for range fakeserver.EnrollAttempts + 1 {
		_, err = mobileclient.Enroll(context.Background(), http.DefaultClient, link.BaseURL, req)
	}
	wantCode(t, err, mobileclient.CodeRateLimited)
	if got := mobileclient.Explain(err); got != "Too many attempts from this address; try again in 420 seconds." {
		t.Errorf("message %q", got)
	}
}

func TestBodiesOver16KiBAreTooLarge(t *testing.T) {
	e := newEnv(t)
	c := e.enroll(t, "ann")
	_, err := c.Rename(context.Background(), strings.Repeat("x", mobileclient.MaxBody))
	wantCode(t, err, mobileclient.CodeTooLarge)
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{"Ann's Pixel": true, strings.Repeat("é", 64): true, "": false,
		strings.Repeat("x", 65): false, "tab\there": false, "rtl\u202eoverride": false, "\xff": false} {
		if err := mobileclient.CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v", name, err)
		}
	}
}
