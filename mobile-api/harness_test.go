package mobileapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	mobileapi "github.com/latchkey/latchkey/mobile-api"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/portal/middleware"
	"github.com/latchkey/latchkey/push/approval"
	"github.com/latchkey/latchkey/push/approval/approvaltest"
	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/tenants"
)

var b64 = base64.RawURLEncoding

// resolver maps the test hosts to their tenants.
type resolver map[string]*tenants.Tenant

func (r resolver) Resolve(_ context.Context, host string) (*tenants.Tenant, error) {
	if t, ok := r[host]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("host %s: %w", host, tenants.ErrUnknownHost)
}

// harness is the mobile API over a real SQLite store, mounted behind the
// portal's tenant middleware, with "acme" and "globex" tenants.
type harness struct {
	*approvaltest.Env
	t       *testing.T
	app     *fiber.App
	api     *mobileapi.API
	push    *approval.Approvals
	enroll  *approval.Enrollments
	globex  *tenants.Tenant
	ann     tenants.User
	mu      sync.Mutex
	changes []mobileapi.DeviceEvent
	reports []string
}

const (
	acmeHost   = "acme.latchkey.test"
	globexHost = "globex.latchkey.test"
)

func newHarness(t *testing.T, sender challenge.Sender) *harness {
	t.Helper()
	h := &harness{Env: approvaltest.New(t), t: t}
	h.globex = h.NewTenant("globex", "Globex", "")
	h.ann = h.User(h.Tenant, "ann")
	log := slog.New(slog.DiscardHandler)
	var err error
	h.push, err = approval.New(approval.Config{Store: h.Scope(), Sender: sender, Now: h.Clock.Now, Logger: log,
		OnReport: func(_ context.Context, _ *tenants.Tenant, c *challenge.Challenge) {
			userID := c.UserID
			h.mu.Lock()
			defer h.mu.Unlock()
			h.reports = append(h.reports, userID)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if h.enroll, err = approval.NewEnrollments(h.Scope(), nil, h.Clock.Now); err != nil {
		t.Fatal(err)
	}
	api, err := mobileapi.New(mobileapi.Config{Store: h.Scope(), Approvals: h.push, Enrollments: h.enroll, Now: h.Clock.Now, Logger: log,
		OnDeviceChange: func(_ context.Context, _ *tenants.Tenant, ev mobileapi.DeviceEvent) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.changes = append(h.changes, ev)
		}})
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := tenants.ParseTrustedProxies([]string{"0.0.0.0"}) // app.Test's peer: X-Forwarded-For names the client
	if err != nil {
		t.Fatal(err)
	}
	h.app = fiber.New(fiber.Config{DisableStartupMessage: true})
	h.app.Use(middleware.Tenant(proxies, resolver{acmeHost: h.Tenant, globexHost: h.globex}, log))
	mobileapi.Register(h.app, api)
	h.api = api
	return h
}

// response is an answer of the API.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a map.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d, body %q: %v", r.status, r.body, err)
	}
	return m
}

// want checks status and, for errors, the error code.
func (r response) want(t *testing.T, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if code != "" {
		if got := r.json(t)["error"]; got != code {
			t.Fatalf("error %v, want %q; body %s", got, code, r.body)
		}
	}
}

// do sends a request to host.
func (h *harness) do(host, method, target string, body []byte, hdr map[string]string) response {
	h.t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Host = host
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Forwarded-For", "198.51.100.20")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.app.Test(req, -1)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// device is an enrolled device as the app knows it.
type device struct {
	id   string
	key  approvaltest.Key
	host string
}

// signed sends a request signed by dev at the clock's time.
func (h *harness) signed(dev device, method, target string, body []byte) response {
	h.t.Helper()
	hdr, err := mobileapi.SignRequest(dev.key.Priv, dev.id, method, target, body, h.Clock.Now(), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do(dev.host, method, target, body, hdr)
}

// link starts an enrollment for the user and returns its id and secret.
func (h *harness) link(ten *tenants.Tenant, userID string) (id, secret string) {
	h.t.Helper()
	l, _, err := h.enroll.Start(h.Ctx, ten, userID, "https://"+ten.Slug+".latchkey.test")
	if err != nil {
		h.t.Fatal(err)
	}
	u, err := url.Parse(l)
	if err != nil {
		h.t.Fatal(err)
	}
	return u.Query().Get("id"), u.Query().Get("secret")
}

func enrollBody(id, secret string, k approvaltest.Key, token string) []byte {
	b, _ := json.Marshal(map[string]string{"enrollment_id": id, "secret": secret, "public_key": b64.EncodeToString(k.DER),
		"key_id": k.KeyID, "platform": "android", "name": "Ann's Pixel", "push_token": token})
	return b
}

// enrollDevice enrolls a new device for the user through the API.
func (h *harness) enrollDevice(ten *tenants.Tenant, userID, keyID string) device {
	h.t.Helper()
	id, secret := h.link(ten, userID)
	k := approvaltest.NewKey(h.t, keyID)
	host := ten.Slug + ".latchkey.test"
	r := h.do(host, "POST", "/api/mobile/v1/enroll", enrollBody(id, secret, k, ""), nil)
	r.want(h.t, 201, "")
	return device{id: r.json(h.t)["device_id"].(string), key: k, host: host}
}

// pushTo creates a challenge for the user, as the flow engine would.
func (h *harness) pushTo(userID string) (string, int) {
	h.t.Helper()
	cid, n, ok, err := h.push.Push(h.Ctx, h.Tenant, userID, tenants.ActionReset, flow.Client{IP: "203.0.113.7",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"})
	if err != nil || !ok {
		h.t.Fatalf("push: ok=%v err=%v", ok, err)
	}
	return cid, n
}

// answer posts dev's answer to cid, signed with key k (the device's own,
// or another to test the refusal), at the clock's time.
func (h *harness) answer(dev device, k approvaltest.Key, cid string, d challenge.Decision, n int) response {
	h.t.Helper()
	return h.signed(dev, "POST", "/api/mobile/v1/challenges/"+cid+"/answer", h.Answer(k, cid, d, n).Encode())
}

func (h *harness) deviceChanges() []mobileapi.DeviceEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]mobileapi.DeviceEvent(nil), h.changes...)
}
