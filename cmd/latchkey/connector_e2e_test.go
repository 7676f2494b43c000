package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/tenants/store/postgres/pgtest"
)

// cliEnv makes the test binary act as the latchkey command (see TestMain).
const cliEnv = "LATCHKEY_TEST_RUN_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runCLIProcess runs the latchkey command line in a separate process.
func runCLIProcess(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Env = append(os.Environ(), cliEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("latchkey %s (separate process): %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// dialHub connects to the hub the way the agent does: headers signed as
// protocol.AuthMessage describes, the connector subprotocol.
func dialHub(t *testing.T, hubURL, connectorID string, key ed25519.PrivateKey) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	u, err := url.Parse(hubURL)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UTC().Format(time.RFC3339)
	h := http.Header{}
	h.Set(protocol.HeaderConnector, connectorID)
	h.Set(protocol.HeaderTime, ts)
	h.Set(protocol.HeaderSignature, base64.StdEncoding.EncodeToString(ed25519.Sign(key, protocol.AuthMessage(connectorID, ts, u.Host))))
	d := websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}, HandshakeTimeout: 5 * time.Second}
	return d.DialContext(t.Context(), hubURL, h)
}

// The connector life cycle across processes, on both stores (R52): `connector
// token` prints a one-time token and the enroll command line; POST enroll on
// the tenant's host registers the connector; a WebSocket client signing as
// that connector gets config after hello and shows up online in `connector
// list`; `connector revoke` run as another process cuts the socket within the
// hub's re-check interval, and the reconnect gets the permanent 403.
func TestConnectorTokenEnrollConnectRevoke(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var (
				sc    storageConfig
				flags []string
			)
			if backend == "sqlite" {
				dir := t.TempDir()
				sc, flags = storageConfig{DataDir: dir}, []string{"--data-dir", dir}
			} else {
				_, appURL := pgtest.NewDatabase(t)
				sc, flags = storageConfig{DatabaseURL: appURL}, []string{"--database-url", appURL}
			}
			cli := func(args ...string) []string { return append(args, flags...) }
			if _, err := runCLI(t, cli("tenant", "create", "--slug", "acme", "--name", "Acme", "--platform-domain", "latchkey.test")...); err != nil {
				t.Fatal(err)
			}
			const recheck = 300 * time.Millisecond
			node, _ := startNode(t, sc, func(c *serverConfig) { c.Connector.Recheck = recheck })

			out, err := runCLI(t, cli("connector", "token", "--tenant", "acme")...)
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile(`(?m)^  (lkj_[A-Za-z0-9_-]{43})$`).FindStringSubmatch(out)
			// The token is printed once, and not in the command line to run,
			// where other users of the connector host could see it.
			if m == nil || strings.Count(out, m[1]) != 1 ||
				!regexp.MustCompile(`(?m)^  latchkey-connector enroll --url https://acme\.latchkey\.test --token-file -$`).MatchString(out) {
				t.Fatalf("connector token printed no token or no enroll line:\n%s", out)
			}
			token := m[1]

			// Enroll, as latchkey-connector would (the node serves plain HTTP).
			signPub, signKey, _ := ed25519.GenerateKey(nil)
			_, sealPub, err := protocol.GenerateSealKey()
			if err != nil {
				t.Fatal(err)
			}
			body, _ := json.Marshal(protocol.EnrollRequest{Token: token, Name: "dc01", SignKey: signPub, SealKey: sealPub, AgentVersion: "test", Domains: []string{"corp.example.com"}})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+node.addr()+protocol.EnrollPath, bytes.NewReader(body))
			req.Host = "acme.latchkey.test"
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var er protocol.EnrollResponse
			if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &er) != nil || er.Validate() != nil {
				t.Fatalf("enroll: %d %s", resp.StatusCode, raw)
			}
			if want := "ws://" + node.hubAddr() + protocol.ConnectPath; er.HubURL != want {
				t.Errorf("hub URL %s, want %s", er.HubURL, want)
			}
			if !ed25519.PublicKey(er.CommandKey).Equal(node.cfg.commandKey.Public()) {
				t.Error("the enrollment handed out another command key than the one the node signs with")
			}

			conn, _, err := dialHub(t, er.HubURL, er.ConnectorID, signKey)
			if err != nil {
				t.Fatalf("dial hub: %v", err)
			}
			defer conn.Close()
			hello, _ := protocol.Encode(protocol.TypeHello, "hello", protocol.Hello{Version: protocol.Version, ConnectorID: er.ConnectorID, AgentVersion: "test"})
			if err := conn.WriteMessage(websocket.TextMessage, hello); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, frame, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("read after hello: %v", err)
			}
			if env, err := protocol.Decode(frame); err != nil || env.Type != protocol.TypeConfig {
				t.Fatalf("after hello got %s (%v), want config", frame, err)
			}
			// The hub records the connect as last seen (asynchronously).
			deadline := time.Now().Add(5 * time.Second)
			for {
				out, err := runCLI(t, cli("connector", "list", "--tenant", "acme")...)
				if err != nil {
					t.Fatal(err)
				}
				if regexp.MustCompile(er.ConnectorID + `\s+dc01\s+corp\.example\.com\s+test\s+\S+\s+\S+Z\s+yes\s+-`).MatchString(out) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("connector list does not show dc01 online:\n%s", out)
				}
				time.Sleep(50 * time.Millisecond)
			}

			// Revoke from another process: only the store connects it to the hub.
			closed := make(chan time.Time, 1)
			go func() {
				conn.SetReadDeadline(time.Now().Add(30 * time.Second))
				for {
					if _, _, err := conn.ReadMessage(); err != nil {
						closed <- time.Now()
						return
					}
				}
			}()
			out = runCLIProcess(t, cli("connector", "revoke", "--tenant", "acme", er.ConnectorID)...)
			revoked := time.Now()
			if !strings.Contains(out, "revoked connector "+er.ConnectorID) {
				t.Fatalf("revoke printed:\n%s", out)
			}
			select {
			case at := <-closed:
				if took := at.Sub(revoked); took > recheck+time.Second {
					t.Errorf("the socket closed %s after the revocation, want within the %s re-check (+ slack)", took, recheck)
				}
			case <-time.After(recheck + 5*time.Second):
				t.Fatal("the revoked connector's socket is still open")
			}
			_, resp, err = dialHub(t, er.HubURL, er.ConnectorID, signKey)
			if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("reconnect after revocation: %v (%v), want 403", err, resp)
			}
			out, _ = runCLI(t, cli("connector", "list", "--tenant", "acme")...)
			if !regexp.MustCompile(er.ConnectorID + `.*\s+no\s+\S+Z\s*$`).MatchString(strings.TrimSpace(out)) {
				t.Errorf("connector list after revocation:\n%s", out)
			}
			// Token, enrollment and revocation left an intact audit chain.
			if _, err := runCLI(t, cli("audit", "verify", "--tenant", "acme")...); err != nil {
				t.Errorf("audit chain: %v", err)
			}
		})
	}
}

// On SQLite (one box) the command key is generated once under --data-dir with
// mode 0600 and reused; on PostgreSQL it is required and the error names the
// setting.
func TestCommandKeyGeneratedOnSQLiteRequiredOnPostgres(t *testing.T) {
	dir := t.TempDir()
	log := newLogger(io.Discard, "text", "warn")
	k1, err := loadCommandKey(connectorConfig{}, storageConfig{DataDir: dir}, log)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, commandKeyName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	k2, err := loadCommandKey(connectorConfig{}, storageConfig{DataDir: dir}, log)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("second load: %v; same key %v", err, k1.Equal(k2))
	}
	k3, err := loadCommandKey(connectorConfig{CommandKeyFile: filepath.Join(dir, commandKeyName)}, storageConfig{DatabaseURL: "postgres://x"}, log)
	if err != nil || !k1.Equal(k3) {
		t.Fatalf("explicit file on PostgreSQL: %v", err)
	}
	_, err = loadCommandKey(connectorConfig{}, storageConfig{DatabaseURL: "postgres://x", DataDir: dir}, log)
	if err == nil || !strings.Contains(err.Error(), "--command-key-file (LATCHKEY_COMMAND_KEY_FILE) is required with PostgreSQL") {
		t.Fatalf("PostgreSQL without a key: %v", err)
	}
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, err := loadCommandKey(connectorConfig{CommandKeyFile: bad}, storageConfig{DataDir: dir}, log); err == nil || !strings.Contains(err.Error(), "LATCHKEY_COMMAND_KEY_FILE") {
		t.Fatalf("a bad key file: %v", err)
	}
	// serve on PostgreSQL without the key refuses to start, naming the setting.
	_, err = runCLI(t, "serve", "--database-url", "postgres://latchkey_app@127.0.0.1:1/none", "--platform-domain", "example.com", "--public-scheme", "http", "--addr", "127.0.0.1:0", "--connector-addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "--command-key-file (LATCHKEY_COMMAND_KEY_FILE) is required with PostgreSQL") {
		t.Fatalf("serve on PostgreSQL without a command key: %v", err)
	}
}

// Connector settings are validated and named.
func TestConnectorSettingsAreValidated(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--connector-addr", "nope"}, "--connector-addr (LATCHKEY_CONNECTOR_ADDR)"},
		{[]string{"--connector-public-url", "https://x.example"}, "--connector-public-url (LATCHKEY_CONNECTOR_PUBLIC_URL)"},
		{[]string{"--connector-public-url", "wss://x.example/?a=b"}, "--connector-public-url (LATCHKEY_CONNECTOR_PUBLIC_URL)"},
		{[]string{"--connector-recheck", "1ms"}, "--connector-recheck (LATCHKEY_CONNECTOR_RECHECK)"},
	} {
		args := append([]string{"serve", "--data-dir", dir, "--addr", "127.0.0.1:0", "--platform-domain", "example.com", "--public-scheme", "http"}, tc.args...)
		if _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	_, err := runCLI(t, "serve", "--data-dir", dir, "--addr", "127.0.0.1:0", "--platform-domain", "example.com", "--trusted-proxies", "127.0.0.1")
	if err == nil || !strings.Contains(err.Error(), "--connector-public-url (LATCHKEY_CONNECTOR_PUBLIC_URL): required when links are https") {
		t.Errorf("https without a connector URL: %v", err)
	}
}
