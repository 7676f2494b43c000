package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/tenants/retention"
)

// syncBuffer is a bytes.Buffer safe for a command writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCLI runs the latchkey command line in-process.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	if err != nil {
		t.Logf("latchkey %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), err
}

// get fetches path from addr with the given Host header.
func get(t *testing.T, addr, host, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s%s: %v", host, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// startServer runs a node over the given storage flags until the test ends and
// returns its portal address.
func startServer(t *testing.T, sc storageConfig) (addr string, stop func()) {
	t.Helper()
	s, stop := startNode(t, sc, nil)
	return s.addr(), stop
}

// startNode is startServer with a chance to adjust the configuration; it
// returns the running node.
func startNode(t *testing.T, sc storageConfig, adjust func(*serverConfig)) (*server, func()) {
	t.Helper()
	srv := serverConfig{Addr: "127.0.0.1:0", OpsAddr: "127.0.0.1:0", PlatformDomain: "latchkey.test", PublicScheme: "http",
		BodyLimit: 64 << 10, ShutdownTimeout: 5 * time.Second, LogFormat: "text", LogLevel: "warn",
		Retention: retention.DefaultRetention, PurgeInterval: retention.DefaultInterval,
		Connector: connectorConfig{Addr: "127.0.0.1:0", Recheck: 5 * time.Second}}
	if adjust != nil {
		adjust(&srv)
	}
	if err := srv.validate(); err != nil {
		t.Fatal(err)
	}
	srv.relayURL = sc.DatabaseURL // as serve does
	if srv.commandKey == nil {
		_, srv.commandKey, _ = ed25519.GenerateKey(nil)
	}
	if srv.SelfService.secretKey == nil {
		srv.SelfService.secretKey = make([]byte, 32)
		_, _ = rand.Read(srv.SelfService.secretKey)
	}
	log := newLogger(io.Discard, "text", "warn")
	ctx, cancel := context.WithCancel(context.Background())
	st, err := openStore(ctx, sc, log)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(srv, st, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server stopped with: %v", err)
			}
			st.Close()
		})
	}
	t.Cleanup(stop)
	waitReady(t, s.addr())
	return s, stop
}

func waitReady(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server at %s never became healthy", addr)
}
