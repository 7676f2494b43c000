package main

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/latchkey/latchkey/tenants/store/postgres/pgtest"
)

// The operator commands create, list and extend tenants; a node then serves
// them by host, an unknown host gets 404, and restarting loses nothing.
func TestTenantCommandsServeByHostAndRestartLosesNothing(t *testing.T) {
	dir := t.TempDir()
	sc := storageConfig{DataDir: dir}
	out, err := runCLI(t, "tenant", "create", "--data-dir", dir, "--slug", "acme", "--name", "Acme Corporation", "--platform-domain", "latchkey.test")
	if err != nil || !strings.Contains(out, "created tenant acme") || !strings.Contains(out, "https://acme.latchkey.test/signin") {
		t.Fatalf("tenant create: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "tenant", "create", "--data-dir", dir, "--slug", "acme", "--name", "Again", "--platform-domain", "latchkey.test"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second tenant with the same slug: want 'already exists', got %v", err)
	}
	if out, err := runCLI(t, "tenant", "add-host", "--data-dir", dir, "--tenant", "acme", "--primary", "Passwords.Acme.Test"); err != nil || !strings.Contains(out, "added passwords.acme.test to acme") {
		t.Fatalf("add-host: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "tenant", "add-host", "--data-dir", dir, "--tenant", "nobody", "x.example.com"); err == nil || !strings.Contains(err.Error(), `no tenant "nobody"`) {
		t.Fatalf("add-host to an unknown tenant: %v", err)
	}
	out, err = runCLI(t, "tenant", "list", "--data-dir", dir)
	if err != nil || !regexp.MustCompile(`acme\s+Acme Corporation\s+\S+\s+passwords\.acme\.test\s+acme\.latchkey\.test,passwords\.acme\.test`).MatchString(out) {
		t.Fatalf("tenant list:\n%s (err %v)", out, err)
	}

	addr, stop := startServer(t, sc)
	for _, host := range []string{"acme.latchkey.test", "passwords.acme.test", "PASSWORDS.acme.test:443"} {
		if code, body := get(t, addr, host, "/signin"); code != http.StatusOK || !strings.Contains(body, "Acme Corporation") {
			t.Fatalf("GET /signin on %s: %d", host, code)
		}
	}
	if code, body := get(t, addr, "globex.latchkey.test", "/signin"); code != http.StatusNotFound || strings.Contains(body, "Acme") {
		t.Fatalf("unknown host: want a neutral 404, got %d", code)
	}
	stop()

	addr, _ = startServer(t, sc)
	if code, _ := get(t, addr, "passwords.acme.test", "/signin"); code != http.StatusOK {
		t.Fatalf("after a restart the tenant is gone: %d", code)
	}
}

// `latchkey audit verify` proves an intact chain and names the first broken
// link after someone with file access edits the log.
func TestAuditVerifyNamesTheFirstBrokenLink(t *testing.T) {
	dir := t.TempDir()
	if _, err := runCLI(t, "tenant", "create", "--data-dir", dir, "--slug", "acme", "--name", "Acme", "--platform-domain", "latchkey.test"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"a.acme.test", "b.acme.test", "c.acme.test"} {
		if _, err := runCLI(t, "tenant", "add-host", "--data-dir", dir, "--tenant", "acme", h); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCLI(t, "audit", "verify", "--data-dir", dir, "--tenant", "acme")
	if err != nil || !strings.Contains(out, "intact: 4 events") {
		t.Fatalf("verify of an untouched log: %v\n%s", err, out)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The application cannot change the log (append-only triggers); an attacker
	// with the file can, and verify must notice.
	if _, err := db.Exec(`UPDATE audit_events SET target = 'host:evil.example' WHERE seq = 3`); err == nil {
		t.Fatal("audit_events accepted an UPDATE")
	}
	var triggers []string
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		triggers = append(triggers, n)
	}
	rows.Close()
	for _, n := range triggers {
		if _, err := db.Exec(`DROP TRIGGER "` + n + `"`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`UPDATE audit_events SET target = 'host:evil.example' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "audit", "verify", "--data-dir", dir, "--tenant", "acme")
	if err == nil || !strings.Contains(err.Error(), "broken at event 3") {
		t.Fatalf("verify of a tampered log: want 'broken at event 3', got %v\n%s", err, out)
	}
	if _, err := db.Exec(`DELETE FROM audit_events WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	_, err = runCLI(t, "audit", "verify", "--data-dir", dir, "--tenant", "acme")
	if err == nil || !strings.Contains(err.Error(), "broken at event 2") {
		t.Fatalf("verify with a deleted event: want 'broken at event 2', got %v", err)
	}
}

// Two nodes on one PostgreSQL both answer for every tenant, including one
// created after both started; a restart loses nothing.
func TestTwoNodesOnPostgresAnswerForEveryTenant(t *testing.T) {
	ownerURL, appURL := pgtest.NewDatabase(t)
	sc := storageConfig{DatabaseURL: appURL, DatabaseMigrateURL: ownerURL}
	if _, err := runCLI(t, "migrate", "--database-url", appURL, "--database-migrate-url", ownerURL); err != nil {
		t.Fatal(err)
	}
	a, _ := startServer(t, sc)
	b, stopB := startServer(t, storageConfig{DatabaseURL: appURL})
	for _, slug := range []string{"acme", "globex"} {
		if _, err := runCLI(t, "tenant", "create", "--database-url", appURL, "--slug", slug, "--name", strings.ToUpper(slug)+" Inc", "--platform-domain", "latchkey.test"); err != nil {
			t.Fatal(err)
		}
	}
	for _, node := range []string{a, b} {
		for _, slug := range []string{"acme", "globex"} {
			code, body := get(t, node, slug+".latchkey.test", "/signin")
			if code != http.StatusOK || !strings.Contains(body, strings.ToUpper(slug)+" Inc") {
				t.Fatalf("node %s, tenant %s: %d", node, slug, code)
			}
		}
		if code, _ := get(t, node, "initech.latchkey.test", "/signin"); code != http.StatusNotFound {
			t.Fatalf("node %s: unknown host got %d", node, code)
		}
		if code, _ := get(t, node, "acme.latchkey.test", "/readyz"); code != http.StatusOK {
			t.Fatalf("node %s: /readyz %d", node, code)
		}
	}
	stopB()
	b, _ = startServer(t, storageConfig{DatabaseURL: appURL})
	if code, _ := get(t, b, "globex.latchkey.test", "/signin"); code != http.StatusOK {
		t.Fatalf("after restarting node B: %d", code)
	}
}

// `latchkey demo` seeds two differently branded tenants on *.localhost, prints
// where they are, serves them, and keeps its data across restarts.
func TestDemoServesTwoBrandedTenants(t *testing.T) {
	dir := t.TempDir()
	for run := 0; run < 2; run++ {
		ctx, cancel := context.WithCancel(t.Context())
		var out, errOut syncBuffer
		cmd := newRootCmd(&out, &errOut)
		cmd.SetArgs([]string{"demo", "--addr", "127.0.0.1:0", "--connector-addr", "127.0.0.1:0", "--data-dir", dir})
		done := make(chan error, 1)
		go func() { done <- cmd.ExecuteContext(ctx) }()
		urls := waitForURLs(t, &out, done)
		if len(urls) != 2 {
			t.Fatalf("demo printed %v", urls)
		}
		port := urls[0][strings.LastIndex(urls[0], ":")+1 : strings.Index(urls[0], "/signin")]
		addr := "127.0.0.1:" + port
		pages := map[string]string{}
		for _, u := range urls {
			host := strings.TrimPrefix(strings.TrimSuffix(u, "/signin"), "http://")
			code, body := get(t, addr, host, "/signin")
			if code != http.StatusOK {
				t.Fatalf("GET %s: %d", u, code)
			}
			pages[strings.Split(host, ".")[0]] = body
			_, css := get(t, addr, host, "/theme.css")
			pages[strings.Split(host, ".")[0]+".css"] = css
		}
		if !strings.Contains(pages["acme"], "Acme") || !strings.Contains(pages["globex"], "Globex") || strings.Contains(pages["acme"], "Globex") {
			t.Fatal("the two demo tenants do not show their own names")
		}
		if !strings.Contains(pages["acme.css"], "#0b5cad") || !strings.Contains(pages["globex.css"], "#1f7a4d") {
			t.Fatalf("the demo tenants' colours are not in their themes:\n%s\n%s", pages["acme.css"], pages["globex.css"])
		}
		if code, _ := get(t, addr, "initech.localhost:"+port, "/signin"); code != http.StatusNotFound {
			t.Fatalf("unknown host: %d", code)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("demo exited with %v\n%s", err, errOut.String())
		}
	}
	// Seeding ran once: a second start did not create the tenant (1 event) nor
	// enroll its demo connector (a join token and an enrollment) again.
	out, err := runCLI(t, "audit", "verify", "--data-dir", dir, "--tenant", "acme")
	if err != nil || !strings.Contains(out, "intact: 3 events") {
		t.Fatalf("demo audit log after two runs: %v %s", err, out)
	}
}

func waitForURLs(t *testing.T, out *syncBuffer, done <-chan error) []string {
	t.Helper()
	re := regexp.MustCompile(`http://[a-z]+\.localhost:\d+/signin`)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("demo exited early: %v", err)
		default:
		}
		if s := out.String(); strings.Contains(s, "Stop with Ctrl-C") {
			return re.FindAllString(s, -1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("demo printed no URLs: %s", out.String())
	return nil
}

// R7: a "this wasn't me" link only ever carries a report flow into the
// browser that opens it. The token of a reset someone else started, sent
// as /report/<token>, is refused like an expired link and sets no cookie
// (flow fixation: the victim would verify the attacker's flow).
func TestReportLinkCannotPlantAnotherFlow_R7(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errOut syncBuffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs([]string{"demo", "--addr", "127.0.0.1:0", "--connector-addr", "127.0.0.1:0", "--mailbox-addr", "127.0.0.1:0", "--data-dir", t.TempDir()})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	urls := waitForURLs(t, &out, done)
	port := urls[0][strings.LastIndex(urls[0], ":")+1 : strings.Index(urls[0], "/signin")]
	addr, host := "127.0.0.1:"+port, "acme.localhost:"+port
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, "http://"+addr+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// The attacker starts a reset for alice and keeps its token.
	resp := do(http.MethodPost, "/reset", "username=alice")
	var token string
	for _, c := range resp.Cookies() {
		if c.Name == "lk_flow" {
			token = c.Value
		}
	}
	if resp.StatusCode != http.StatusSeeOther || token == "" {
		t.Fatalf("start: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	for _, path := range []string{"/report/" + token, "/report/not-a-token"} {
		resp := do(http.MethodGet, path, "")
		if resp.StatusCode != http.StatusGone {
			t.Errorf("GET %s: %d, want 410 like an expired link", path[:12], resp.StatusCode)
		}
		for _, c := range resp.Cookies() {
			if c.Name == "lk_flow" && c.Value != "" {
				t.Errorf("GET %s set the flow cookie", path[:12])
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("demo exited with %v\n%s", err, errOut.String())
	}
}
