package cli

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/hub/hubtest"
	"github.com/latchkey/latchkey/connector/protocol"
)

// enroll against the contract, then run: the connector dials the real hub
// with the keys it generated, and the hub's command reaches it (the
// directory is unreachable, so the answer is the directory error Unavailable:
// what matters is that it is a definite, signed answer from this connector).
func TestEnrollThenRunConnectsToTheHub(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := hubtest.NewStore()
	h := hub.New(hub.Options{Store: store, Logger: log, Heartbeat: time.Second})
	es, _ := newEnrollServer(t, false)
	_, cmdPriv, _ := ed25519.GenerateKey(nil)
	es.cmdKey = cmdPriv.Public().(ed25519.PublicKey)
	mux := http.NewServeMux()
	mux.Handle(protocol.ConnectPath, h)
	mux.Handle(protocol.EnrollPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		es.ServeHTTP(w, r)
		es.mu.Lock()
		defer es.mu.Unlock()
		if len(es.got) == 1 && store.Len() == 0 {
			store.Put(hub.ConnectorRecord{TenantID: "11111111-1111-4111-8111-111111111111",
				ID: "22222222-2222-4222-8222-222222222222", SignKey: es.got[0].SignKey, SealKey: es.got[0].SealKey})
		}
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	es.hubURL = "ws" + strings.TrimPrefix(srv.URL, "http") + protocol.ConnectPath

	dir := t.TempDir()
	idPath := filepath.Join(dir, "identity.json")
	if _, errOut, code := cli(t, "enroll", "--url", srv.URL, "--token", es.token, "--identity", idPath); code != 0 {
		t.Fatalf("enroll: %s", errOut)
	}
	cfg := writeConfig(t, dir, goodConfig)
	ctx, cancel := context.WithCancel(context.Background())
	var logs strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- runConnector(ctx, runOptions{Config: cfg, Identity: idPath, StateDir: filepath.Join(dir, "state"), Version: "test"}, &syncWriter{b: &logs})
	}()
	tenant := "11111111-1111-4111-8111-111111111111"
	deadline := time.Now().Add(5 * time.Second)
	for len(h.Connected(tenant)) == 0 {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("the enrolled connector never connected; logs:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	disp := &hub.Dispatcher{Hub: h, Key: cmdPriv, TTL: 20 * time.Second, ConnectWait: time.Second, Log: log}
	out := disp.Execute(t.Context(), tenant, hub.Request{Op: protocol.OpUnlock, Target: "6d2c6f0e-0c39-4a7e-9b58-3c1c0d6f8a11"})
	if out.Status != hub.DirectoryError || out.Code != "Unavailable" {
		t.Fatalf("command through the enrolled connector: %v", out)
	}
	if out.Connector != "22222222-2222-4222-8222-222222222222" {
		t.Fatalf("answered by %q", out.Connector)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
	if l := logs.String(); !strings.Contains(l, `"connector_id":"22222222-2222-4222-8222-222222222222"`) || !strings.Contains(l, "connected to hub") {
		t.Fatalf("logs:\n%s", l)
	}

	// Revoked: run stops with ExitRefused (systemd does not restart it).
	store.Revoke("22222222-2222-4222-8222-222222222222")
	_, errOut, code := cli(t, "run", "--config", cfg, "--identity", idPath, "--state-dir", filepath.Join(dir, "state"))
	if code != ExitRefused || !strings.Contains(errOut, "permanently refused") || !strings.Contains(errOut, "enroll again") {
		t.Fatalf("run of a revoked connector: exit %d, %s", code, errOut)
	}
}
