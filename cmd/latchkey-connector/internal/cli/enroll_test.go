package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/connector/agent"
	"github.com/latchkey/latchkey/connector/protocol"
)

// enrollServer is a minimal stand-in for the control plane's enrollment
// endpoint, faithful to the contract in connector/protocol/enroll.go: one
// one-time token, 201 EnrollResponse, 401 {"error":"invalid_token"} for any
// token failure, 400 {"error":"bad_request","message":…} for a bad body.
type enrollServer struct {
	mu       sync.Mutex
	token    string
	used     bool
	cmdKey   ed25519.PublicKey
	hubURL   string
	got      []protocol.EnrollRequest
	requests int
}

func (s *enrollServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	fail := func(code int, body map[string]string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body)
	}
	if r.URL.Path != protocol.EnrollPath || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var req protocol.EnrollRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		fail(http.StatusBadRequest, map[string]string{"error": "bad_request", "message": "body is not an enrollment request"})
		return
	}
	if err := req.Validate(); err != nil {
		fail(http.StatusBadRequest, map[string]string{"error": "bad_request", "message": err.Error()})
		return
	}
	if req.Token != s.token || s.used {
		fail(http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	s.used = true
	s.got = append(s.got, req)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(protocol.EnrollResponse{TenantID: "11111111-1111-4111-8111-111111111111",
		ConnectorID: "22222222-2222-4222-8222-222222222222", HubURL: s.hubURL, CommandKey: s.cmdKey})
}

func newEnrollServer(t *testing.T, tlsServer bool) (*enrollServer, *httptest.Server) {
	pub, _, _ := ed25519.GenerateKey(nil)
	s := &enrollServer{token: "lkj_" + strings.Repeat("a", 40), cmdKey: pub}
	var srv *httptest.Server
	if tlsServer {
		srv = httptest.NewTLSServer(s)
	} else {
		srv = httptest.NewServer(s)
	}
	t.Cleanup(srv.Close)
	s.hubURL = "ws" + strings.TrimPrefix(srv.URL, "http") + protocol.ConnectPath
	return s, srv
}

// cli runs the command line and returns stdout, stderr and the exit status.
func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := execute(context.Background(), "test", args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestEnrollWritesAPrivateIdentityTheAgentAccepts(t *testing.T) {
	s, srv := newEnrollServer(t, false)
	idPath := filepath.Join(t.TempDir(), "sub", "identity.json")
	out, errOut, code := cli(t, "enroll", "--url", srv.URL+"/", "--token", s.token, "--identity", idPath, "--domain", "acme.local")
	if code != 0 {
		t.Fatalf("enroll failed: %s", errOut)
	}
	st, err := os.Stat(idPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("identity file: %v %v", st, err)
	}
	id, err := agent.LoadIdentity(idPath)
	if err != nil {
		t.Fatalf("agent.LoadIdentity refuses the saved identity: %v", err)
	}
	if id.ConnectorID != "22222222-2222-4222-8222-222222222222" || id.TenantID != "11111111-1111-4111-8111-111111111111" ||
		id.HubURL != s.hubURL || !id.CommandKey.Equal(s.cmdKey) {
		t.Fatalf("identity: %+v", id)
	}
	req := s.got[0]
	if !ed25519.PublicKey(req.SignKey).Equal(id.SignKey.Public()) || req.AgentVersion != "test" || req.Domains[0] != "acme.local" {
		t.Fatalf("the request did not carry this identity's public key: %+v", req)
	}
	if host, _ := os.Hostname(); req.Name != host {
		t.Fatalf("default name %q, want the host name %q", req.Name, host)
	}
	for _, want := range []string{id.ConnectorID, id.TenantID, Fingerprint(s.cmdKey)} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	raw, _ := os.ReadFile(idPath)
	if strings.Contains(out, s.token) || strings.Contains(out, string(raw[:20])) {
		t.Fatal("output shows the token or the identity")
	}

	// An existing identity is not overwritten, and the token is not spent.
	s.mu.Lock()
	s.used, s.token = false, "lkj_"+strings.Repeat("b", 40)
	before := s.requests
	s.mu.Unlock()
	_, errOut, code = cli(t, "enroll", "--url", srv.URL, "--token", s.token, "--identity", idPath)
	if code == 0 || !strings.Contains(errOut, "already holds an identity") || !strings.Contains(errOut, "--force") {
		t.Fatalf("second enroll: %d %s", code, errOut)
	}
	if s.requests != before {
		t.Fatal("the refused enroll still sent the token")
	}
	if again, _ := os.ReadFile(idPath); !bytes.Equal(again, raw) {
		t.Fatal("the identity was changed")
	}
	if _, _, code = cli(t, "enroll", "--url", srv.URL, "--token", s.token, "--identity", idPath, "--force", "--name", "dc-host"); code != 0 {
		t.Fatal("--force did not replace the identity")
	}
	if again, _ := os.ReadFile(idPath); bytes.Equal(again, raw) || s.got[1].Name != "dc-host" {
		t.Fatal("--force kept the old identity")
	}
}

func TestEnrollErrors(t *testing.T) {
	s, srv := newEnrollServer(t, false)
	dir := t.TempDir()
	idPath := filepath.Join(dir, "identity.json")

	_, errOut, code := cli(t, "enroll", "--url", srv.URL, "--token", "lkj_wrong", "--identity", idPath)
	if code == 0 || !strings.Contains(errOut, "invalid, already used or expired") || !strings.Contains(errOut, "new one") {
		t.Fatalf("401: %s", errOut)
	}
	if _, err := os.Stat(idPath); err == nil {
		t.Fatal("a failed enroll wrote an identity")
	}

	// A malformed request is caught locally (EnrollRequest.Validate) before
	// the token is sent; a 400 from the server has its message quoted.
	_, errOut, code = cli(t, "enroll", "--url", srv.URL, "--token", strings.Repeat("x", 300), "--identity", idPath)
	if code == 0 || !strings.Contains(errOut, "token: required, at most 256 characters") {
		t.Fatalf("an over-long token: %s", errOut)
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"bad_request","message":"domains: \"acme local\" is not a domain name"}`))
	}))
	defer bad.Close()
	_, errOut, code = cli(t, "enroll", "--url", bad.URL, "--token", s.token, "--identity", idPath)
	if code == 0 || !strings.Contains(errOut, `refused the enrollment request: "domains: \"acme local\" is not a domain name"`) {
		t.Fatalf("400: %s", errOut)
	}

	// Network errors.
	ln := httptest.NewServer(http.NotFoundHandler())
	closedURL := ln.URL
	ln.Close()
	_, errOut, code = cli(t, "enroll", "--url", closedURL, "--token", s.token, "--identity", idPath)
	if code == 0 || !strings.Contains(errOut, "cannot reach 127.0.0.1") {
		t.Fatalf("connection refused: %s", errOut)
	}

	// HTTPS required off loopback; a private CA with --ca-file.
	for _, u := range []string{"http://passwords.acme.com", "ftp://x", "https://u:p@acme.com", "not a url"} {
		if _, errOut, code := cli(t, "enroll", "--url", u, "--token", s.token, "--identity", idPath); code == 0 || !strings.Contains(errOut, "--url") {
			t.Errorf("--url %s: %s", u, errOut)
		}
	}
	for _, u := range []string{"http://localhost:1", "http://acme.localhost:1", "http://127.0.0.1:1"} {
		if _, err := enrollURL(u); err != nil {
			t.Errorf("%s should be allowed for the demo: %v", u, err)
		}
	}
	ts, tsrv := newEnrollServer(t, true)
	_, errOut, code = cli(t, "enroll", "--url", tsrv.URL, "--token", ts.token, "--identity", idPath)
	if code == 0 || !strings.Contains(errOut, "not signed by a trusted CA") || !strings.Contains(errOut, "--ca-file") {
		t.Fatalf("untrusted TLS: %s", errOut)
	}
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tsrv.Certificate().Raw}), 0o644)
	ts.hubURL = "wss" + strings.TrimPrefix(tsrv.URL, "https") + protocol.ConnectPath
	if _, errOut, code = cli(t, "enroll", "--url", tsrv.URL, "--token", ts.token, "--identity", idPath, "--ca-file", ca); code != 0 {
		t.Fatalf("with --ca-file: %s", errOut)
	}
	// The hub's CA is pinned in the identity (R53).
	id, err := agent.LoadIdentity(idPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := agent.CAPin([]*x509.Certificate{tsrv.Certificate()}); id.HubCAPin != want {
		t.Fatalf("hub CA pin %q, want %q", id.HubCAPin, want)
	}
}

func TestEnrollRefusesAPlaintextHubFromAnHTTPSControlPlane(t *testing.T) {
	s, srv := newEnrollServer(t, true)
	s.hubURL = "ws://hub.acme.com/connector/v1/connect"
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	idPath := filepath.Join(t.TempDir(), "identity.json")
	_, errOut, code := cli(t, "enroll", "--url", srv.URL, "--token", s.token, "--identity", idPath, "--ca-file", ca)
	if code == 0 || !strings.Contains(errOut, "unencrypted hub URL") {
		t.Fatalf("ws:// hub: %s", errOut)
	}
	if _, err := os.Stat(idPath); err == nil {
		t.Fatal("saved an identity with a plaintext hub")
	}
}

// TestEnrollReachesDotLocalhostDemoHosts: `latchkey demo` serves its tenants
// on acme.localhost; Go's resolver asks DNS for such names (and fails), so
// enroll dials them on loopback as RFC 6761 allows. The Host header still
// names the tenant.
func TestEnrollReachesDotLocalhostDemoHosts(t *testing.T) {
	s, srv := newEnrollServer(t, false)
	var gotHost string
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost = r.Host
		s.ServeHTTP(w, r)
	})
	url := strings.Replace(srv.URL, "127.0.0.1", "acme.localhost", 1)
	idPath := filepath.Join(t.TempDir(), "identity.json")
	if _, errOut, code := cli(t, "enroll", "--url", url, "--token", s.token, "--identity", idPath); code != 0 {
		t.Fatalf("enroll via %s: exit %d: %s", url, code, errOut)
	}
	if !strings.HasPrefix(gotHost, "acme.localhost:") {
		t.Fatalf("the control plane saw Host %q, want acme.localhost:<port>", gotHost)
	}
}

// TestEnrollReadsTheTokenFromStdinFileOrEnvironment: the join token is the
// whole credential, so it can come from standard input, a file or
// $LATCHKEY_JOIN_TOKEN instead of the command line (where every local user
// sees it); giving it twice or not at all is a clear error.
func TestEnrollReadsTheTokenFromStdinFileOrEnvironment(t *testing.T) {
	for _, how := range []string{"stdin", "file", "env"} {
		t.Run(how, func(t *testing.T) {
			s, srv := newEnrollServer(t, false)
			dir := t.TempDir()
			idPath := filepath.Join(dir, "identity.json")
			args := []string{"enroll", "--url", srv.URL, "--identity", idPath}
			var stdin io.Reader = strings.NewReader("")
			switch how {
			case "stdin":
				args = append(args, "--token-file", "-")
				stdin = strings.NewReader(s.token + "\n")
			case "file":
				f := filepath.Join(dir, "token")
				os.WriteFile(f, []byte(s.token+"\n"), 0o600)
				args = append(args, "--token-file", f)
			case "env":
				t.Setenv("LATCHKEY_JOIN_TOKEN", s.token)
			}
			var out, errOut bytes.Buffer
			if code := executeWithStdin(context.Background(), "test", args, stdin, &out, &errOut); code != 0 {
				t.Fatalf("enroll with the token from %s: exit %d: %s", how, code, errOut.String())
			}
			if _, err := agent.LoadIdentity(idPath); err != nil {
				t.Fatal(err)
			}
		})
	}
	_, srv := newEnrollServer(t, false)
	if _, errOut, code := cli(t, "enroll", "--url", srv.URL, "--identity", filepath.Join(t.TempDir(), "id.json")); code == 0 || !strings.Contains(errOut, "no join token") {
		t.Errorf("no token: exit %d, %q", code, errOut)
	}
	if _, errOut, code := cli(t, "enroll", "--url", srv.URL, "--token", "a", "--token-file", "-", "--identity", filepath.Join(t.TempDir(), "id.json")); code == 0 || !strings.Contains(errOut, "not both") {
		t.Errorf("two tokens: exit %d, %q", code, errOut)
	}
}
