package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/fakeserver"
	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/state"
	"github.com/latchkey/latchkey/push/challenge"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// result is one command line's outcome.
type result struct {
	code           int
	stdout, stderr string
}

// tenant is a fake server on a loopback HTTP listener and a state file.
type tenant struct {
	t     *testing.T
	fake  *fakeserver.Server
	url   string
	state string
}

func newTenant(t *testing.T, cfg fakeserver.Config) *tenant {
	t.Helper()
	fake, err := fakeserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	return &tenant{t: t, fake: fake, url: ts.URL, state: filepath.Join(t.TempDir(), "cfg", "state.json")}
}

// run runs one command line with the given standard input against the
// tenant's state file.
func (tn *tenant) run(stdin io.Reader, env Env, args ...string) result {
	tn.t.Helper()
	var out, errb syncBuffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	env.Stdin, env.Stdout, env.Stderr = stdin, &out, &errb
	code := Execute(context.Background(), "test", append(args, "--state", tn.state), env)
	return result{code, out.String(), errb.String()}
}

func (tn *tenant) link(username, display string) string {
	tn.t.Helper()
	l, err := tn.fake.NewEnrollment(tn.url, fakeserver.User{ID: "id-" + username, Username: username, DisplayName: display})
	if err != nil {
		tn.t.Fatal(err)
	}
	return l
}

// enroll enrolls the state file's device and returns its id.
func (tn *tenant) enroll(extra ...string) string {
	tn.t.Helper()
	r := tn.run(nil, Env{}, append([]string{"enroll", tn.link("ann", "Ann Lee"), "--name", "Ann's laptop"}, extra...)...)
	if r.code != 0 || r.stdout != "Enrolled as ann at Acme\n" {
		tn.t.Fatalf("enroll: %+v", r)
	}
	st, err := state.Load(tn.state)
	if err != nil {
		tn.t.Fatal(err)
	}
	return st.Device.DeviceID
}

func (tn *tenant) push(deviceID string) *challenge.Challenge {
	tn.t.Helper()
	ch, err := tn.fake.Push(deviceID, "reset", challenge.Context{
		TenantName: "Acme", App: "Self-service portal", IP: "203.0.113.7", Browser: "Firefox on Windows",
		Time: time.Now().UTC().Truncate(time.Second),
	})
	if err != nil {
		tn.t.Fatal(err)
	}
	return ch
}

func (tn *tenant) stateOf(cid string) challenge.State {
	tn.t.Helper()
	c, err := tn.fake.Challenge(cid)
	if err != nil {
		tn.t.Fatal(err)
	}
	return c.State
}

// otherNumber is a two-digit number that is not n.
func otherNumber(n int) int {
	if n == 99 {
		return 10
	}
	return n + 1
}

// startPushWait starts `wait --poll 0 --push-listen 127.0.0.1:0 --once`
// (polling off: only a push can bring a challenge) plus extra through run,
// and returns the push listener's address and the command's result.
func startPushWait(t *testing.T, run func(env Env, args ...string) result, extra ...string) (string, <-chan result) {
	t.Helper()
	addr := make(chan string, 1)
	done := make(chan result, 1)
	go func() {
		done <- run(Env{Listening: func(a string) { addr <- a }},
			append([]string{"wait", "--poll", "0", "--push-listen", "127.0.0.1:0", "--once"}, extra...)...)
	}()
	select {
	case a := <-addr:
		return a, done
	case r := <-done:
		t.Fatalf("wait ended early: %+v", r)
	}
	return "", nil
}

// forwardPush posts a data message to the push listener, as a phone's FCM
// SDK hands it to the app, and waits for the command to end.
func forwardPush(t *testing.T, listen string, data []byte, done <-chan result) result {
	t.Helper()
	resp, err := http.Post("http://"+listen+"/", "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("push listener answered %d", resp.StatusCode)
	}
	select {
	case r := <-done:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("wait did not answer the pushed challenge")
	}
	return result{}
}
