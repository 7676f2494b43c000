package portal

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/tenants"
)

func TestHealthAndReady(t *testing.T) {
	ta := newTestApp(t)
	ops := NewOps(ta.deps)
	for name, app := range map[string]interface {
		do(testing.TB, *http.Request) (*http.Response, string)
	}{"portal": ta, "ops": &testApp{app: ops}} {
		// No tenant needed: any host, even an unknown one.
		resp, body := app.do(t, get("nobody.example", "/healthz"))
		if resp.StatusCode != 200 || body != "ok\n" {
			t.Errorf("%s healthz: %d %q", name, resp.StatusCode, body)
		}
		ta.ready = nil
		resp, body = app.do(t, get("nobody.example", "/readyz"))
		if resp.StatusCode != 200 || body != "ready\n" {
			t.Errorf("%s readyz: %d %q", name, resp.StatusCode, body)
		}
		ta.ready = errors.New("database unreachable at 10.0.0.5")
		resp, body = app.do(t, get("nobody.example", "/readyz"))
		if resp.StatusCode != http.StatusServiceUnavailable || body != "not ready\n" {
			t.Errorf("%s readyz while failing: %d %q", name, resp.StatusCode, body)
		}
		ta.ready = nil
	}
	if n, _ := ta.resolver.counts(); n != 0 {
		t.Errorf("health checks resolved %d tenants", n)
	}
	mustContain(t, "log", ta.logs.String(), "not ready", "database unreachable")
}

// TestMetrics: the ops app exposes the request counter by route template,
// with bounded labels for unmatched paths and unknown hosts.
func TestMetrics(t *testing.T) {
	ta := newTestApp(t)
	ops := &testApp{app: NewOps(ta.deps)}
	ta.do(t, get(acmeHost, "/signin"))
	ta.do(t, get(acmeHost, "/signin"))
	ta.do(t, get(acmeHost, "/random-7f3a9c"))
	ta.do(t, get("nobody.localhost", "/signin"))
	resp, body := ops.do(t, get("ops", "/metrics"))
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	mustContain(t, "metrics", body,
		`latchkey_portal_http_requests_total{method="GET",route="/signin",status="200"} 2`,
		`latchkey_portal_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`latchkey_portal_http_requests_total{method="GET",route="unknown_host",status="404"} 1`,
		`latchkey_portal_http_request_duration_seconds_count{method="GET",route="/signin"} 2`,
		`latchkey_portal_build_info{version="test"} 1`)
	mustNotContain(t, "metrics", body, "random-7f3a9c", "nobody")
}

func TestNewValidatesDeps(t *testing.T) {
	if _, err := New(Config{}, Deps{}); err == nil {
		t.Error("no resolver: no error")
	}
	if _, err := New(Config{}, Deps{Resolver: newFakeResolver()}); err == nil {
		t.Error("no registry: no error")
	}
	ta := newTestApp(t)
	// A second portal on the same registry reuses the collectors.
	if _, err := New(Config{}, ta.deps); err != nil {
		t.Errorf("second portal on one registry: %v", err)
	}
	if _, err := New(Config{BodyLimit: -1}, ta.deps); err == nil {
		t.Error("negative body limit: no error")
	}
}

var _ TenantResolver = (*tenants.Resolver)(nil)

var _ = context.Background
