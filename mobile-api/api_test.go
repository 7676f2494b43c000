package mobileapi_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	mobileapi "github.com/latchkey/latchkey/mobile-api"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/push/approval/approvaltest"
	"github.com/latchkey/latchkey/push/challenge"
)

// TestEnrollHappyPath_R32: the link's id and secret with a fresh P-256 key
// enroll the device; the answer names the user and tenant, the device is
// stored with the public key and token, the integrator hears of it, and
// the device can make signed requests at once.
func TestEnrollHappyPath_R32(t *testing.T) {
	h := newHarness(t, nil)
	id, secret := h.link(h.Tenant, h.ann.ID)
	k := approvaltest.NewKey(t, "ann-pixel-1")
	r := h.do(acmeHost, "POST", "/api/mobile/v1/enroll", enrollBody(id, secret, k, "fcm-token-1"), nil)
	r.want(t, 201, "")
	m := r.json(t)
	if m["key_id"] != "ann-pixel-1" || m["poll_interval_seconds"] != 5.0 ||
		m["user"].(map[string]any)["username"] != "ann" || m["user"].(map[string]any)["display_name"] != "ann Example" ||
		m["tenant"].(map[string]any)["name"] != "Acme" {
		t.Fatalf("enroll answer %s", r.body)
	}
	d := h.GetDevice(h.Tenant, m["device_id"].(string))
	if d.UserID != h.ann.ID || !bytes.Equal(d.PublicKey, k.DER) || d.PushToken != "fcm-token-1" || d.Platform != "android" ||
		d.Name != "Ann's Pixel" {
		t.Fatalf("stored device %+v", d)
	}
	if ch := h.deviceChanges(); len(ch) != 1 || ch[0].Change != mobileapi.DeviceAdded || ch[0].Device.ID != d.ID ||
		ch[0].IP != "198.51.100.20" {
		t.Fatalf("device changes %+v", ch)
	}
	dev := device{id: d.ID, key: k, host: acmeHost}
	r = h.signed(dev, "GET", "/api/mobile/v1/device", nil)
	r.want(t, 200, "")
	if got := r.json(t); got["device_id"] != d.ID || got["push"] != true || got["platform"] != "android" {
		t.Fatalf("device %s", r.body)
	}
}

// TestEnrollReusedSecret_R32: the same link a second time is 410.
func TestEnrollReusedSecret_R32(t *testing.T) {
	h := newHarness(t, nil)
	id, secret := h.link(h.Tenant, h.ann.ID)
	h.do(acmeHost, "POST", "/api/mobile/v1/enroll", enrollBody(id, secret, approvaltest.NewKey(t, "k1"), ""), nil).want(t, 201, "")
	h.do(acmeHost, "POST", "/api/mobile/v1/enroll", enrollBody(id, secret, approvaltest.NewKey(t, "k2"), ""), nil).
		want(t, 410, "enrollment_invalid")
}

// TestEnrollExpiredSecret_R32: a link works for ten minutes (fake clock): a
// second before that it enrolls, at ten minutes it is 410.
func TestEnrollExpiredSecret_R32(t *testing.T) {
	h := newHarness(t, nil)
	id, secret := h.link(h.Tenant, h.ann.ID)
	id2, secret2 := h.link(h.Tenant, h.ann.ID)
	h.Clock.Advance(9*time.Minute + 59*time.Second)
	h.do(acmeHost, "POST", "/api/mobile/v1/enroll", enrollBody(id2, secret2, approvaltest.NewKey(t, "k2"), ""), nil).want(t, 201, "")
	h.Clock.Advance(time.Second)
	h.do(acmeHost, "POST", "/api/mobile/v1/enroll", enrollBody(id, secret, approvaltest.NewKey(t, "k1"), ""), nil).
		want(t, 410, "enrollment_invalid")
}

// TestEnrollOnAnotherTenant_R32: acme's link posted to globex's host is 410,
// like an unknown one.
func TestEnrollOnAnotherTenant_R32(t *testing.T) {
	h := newHarness(t, nil)
	id, secret := h.link(h.Tenant, h.ann.ID)
	r := h.do(globexHost, "POST", "/api/mobile/v1/enroll", enrollBody(id, secret, approvaltest.NewKey(t, "k1"), ""), nil)
	r.want(t, 410, "enrollment_invalid")
	unknown := h.do(acmeHost, "POST", "/api/mobile/v1/enroll", enrollBody(strings.Repeat("A", 22), secret, approvaltest.NewKey(t, "k1"), ""), nil)
	unknown.want(t, 410, "enrollment_invalid")
	if !bytes.Equal(r.body, unknown.body) {
		t.Fatalf("another tenant's enrollment answers differently from an unknown one:\n%s\n%s", r.body, unknown.body)
	}
}

// TestNoSecretOrPrivateKeyInTheDatabase_R32: after an enrollment and some
// signed requests, the database files hold the device's public key but
// neither the enrollment secret (text or bytes) nor the private key in any
// encoding.
func TestNoSecretOrPrivateKeyInTheDatabase_R32(t *testing.T) {
	h := newHarness(t, nil)
	id, secret := h.link(h.Tenant, h.ann.ID)
	k := approvaltest.NewKey(t, "k1")
	r := h.do(acmeHost, "POST", "/api/mobile/v1/enroll", enrollBody(id, secret, k, "fcm-token-1"), nil)
	r.want(t, 201, "")
	dev := device{id: r.json(t)["device_id"].(string), key: k, host: acmeHost}
	h.signed(dev, "GET", "/api/mobile/v1/challenges", nil).want(t, 200, "")
	files := h.Files()
	if !bytes.Contains(files, k.DER) {
		t.Fatal("the scan does not find the public key: it reads nothing")
	}
	rawSecret, _ := b64.DecodeString(secret)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k.Priv)
	sec1, _ := x509.MarshalECPrivateKey(k.Priv)
	d := k.Priv.D.FillBytes(make([]byte, 32))
	for name, b := range map[string][]byte{"secret": []byte(secret), "secret bytes": rawSecret, "private scalar": d,
		"PKCS#8 key": pkcs8, "SEC 1 key": sec1, "private scalar (base64url)": []byte(b64.EncodeToString(d))} {
		if bytes.Contains(files, b) {
			t.Errorf("the database holds the %s", name)
		}
	}
}

// TestEnrollMalformed: every malformed enrollment is 400 malformed with a
// message, never a panic or a 500; a body over 16 KiB is 413.
func TestEnrollMalformed(t *testing.T) {
	h := newHarness(t, nil)
	id, secret := h.link(h.Tenant, h.ann.ID)
	k := approvaltest.NewKey(t, "k1")
	good := map[string]any{}
	_ = json.Unmarshal(enrollBody(id, secret, k, ""), &good)
	with := func(field string, v any) []byte {
		m := map[string]any{}
		for k, x := range good {
			m[k] = x
		}
		if v == nil {
			delete(m, field)
		} else {
			m[field] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	cases := map[string][]byte{
		"not JSON":           []byte("enrollment_id=x"),
		"JSON array":         []byte(`[1,2]`),
		"trailing data":      append(enrollBody(id, secret, k, ""), []byte(` {}`)...),
		"unknown member":     with("admin", true),
		"wrong type":         with("name", 7),
		"no enrollment id":   with("enrollment_id", nil),
		"short id":           with("enrollment_id", id[:21]),
		"bad secret":         with("secret", strings.Repeat("!", 43)),
		"no key":             with("public_key", nil),
		"key not base64url":  with("public_key", "+/+/"),
		"key not PKIX":       with("public_key", b64.EncodeToString([]byte("hello"))),
		"RSA key":            with("public_key", b64.EncodeToString(rsaDER)),
		"P-384 key":          with("public_key", b64.EncodeToString(p384DER)),
		"key id with space":  with("key_id", "my key"),
		"key id too long":    with("key_id", strings.Repeat("k", 129)),
		"no key id":          with("key_id", ""),
		"platform":           with("platform", "windows"),
		"empty name":         with("name", " "),
		"long name":          with("name", strings.Repeat("n", 65)),
		"name with newline":  with("name", "Ann\nAdmin approved"),
		"name with bidi":     with("name", "Ann\u202e"),
		"token with space":   with("push_token", "a b"),
		"token too long":     with("push_token", strings.Repeat("t", 4097)),
		"empty body":         nil,
		"invalid UTF-8 name": []byte(`{"enrollment_id":"` + id + `","secret":"` + secret + `","public_key":"x","key_id":"k","platform":"cli","name":"` + "\xff" + `"}`),
	}
	// Otherwise valid: only the name's bytes are not UTF-8 (the decoder would
	// store U+FFFD).
	cases["invalid UTF-8 in a valid body"] = bytes.Replace(with("name", "Ann-PHONE"), []byte("Ann-PHONE"), []byte("Ann\xff"), 1)
	for name, body := range cases {
		r := h.do(acmeHost, "POST", "/api/mobile/v1/enroll", body, map[string]string{"Content-Type": "application/json"})
		if r.status != 400 || r.json(t)["error"] != "malformed" || r.json(t)["message"] == "" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	r := h.do(acmeHost, "POST", "/api/mobile/v1/enroll", enrollBody(id, secret, k, ""), map[string]string{"Content-Type": "text/plain"})
	r.want(t, 400, "malformed")
	big := with("push_token", strings.Repeat("t", 17<<10))
	h.do(acmeHost, "POST", "/api/mobile/v1/enroll", big, nil).want(t, 413, "too_large")
	// None of that used the link up.
	h.do(acmeHost, "POST", "/api/mobile/v1/enroll", enrollBody(id, secret, k, ""), nil).want(t, 201, "")
}

// TestEnrollRateLimitedPerAddress: the 11th attempt from one address in ten
// minutes is 429 with Retry-After; another address is unaffected; the
// window passes.
func TestEnrollRateLimitedPerAddress(t *testing.T) {
	h := newHarness(t, nil)
	k := approvaltest.NewKey(t, "k1")
	bogus := enrollBody(strings.Repeat("A", 22), strings.Repeat("A", 43), k, "")
	for range 10 {
		h.do(acmeHost, "POST", "/api/mobile/v1/enroll", bogus, nil).want(t, 410, "enrollment_invalid")
	}
	r := h.do(acmeHost, "POST", "/api/mobile/v1/enroll", bogus, nil)
	r.want(t, 429, "rate_limited")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 601 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Even the right secret waits now: the limit comes before the check.
	id, secret := h.link(h.Tenant, h.ann.ID)
	h.do(acmeHost, "POST", "/api/mobile/v1/enroll", enrollBody(id, secret, k, ""), nil).want(t, 429, "rate_limited")
	h.do(acmeHost, "POST", "/api/mobile/v1/enroll", enrollBody(id, secret, k, ""),
		map[string]string{"X-Forwarded-For": "198.51.100.99"}).want(t, 201, "")
	h.Clock.Advance(10 * time.Minute)
	h.do(acmeHost, "POST", "/api/mobile/v1/enroll", bogus, nil).want(t, 410, "enrollment_invalid")
}

// TestSignedRequestRefusals_R34: a stale or future timestamp, another key,
// a replayed nonce, a tampered body, path or method, an unknown or another
// tenant's device, and missing or malformed headers are all 401
// unauthenticated with one body; the untampered request passes.
func TestSignedRequestRefusals_R34(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.enrollDevice(h.Tenant, h.ann.ID, "k1")
	body := []byte(`{"name":"Work phone"}`)
	sign := func(k approvaltest.Key, id, method, target string, b []byte, at time.Time) map[string]string {
		hdr, err := mobileapi.SignRequest(k.Priv, id, method, target, b, at, nil)
		if err != nil {
			t.Fatal(err)
		}
		return hdr
	}
	now := h.Clock.Now()
	other := approvaltest.NewKey(t, "k1")
	replayed := sign(dev.key, dev.id, "PATCH", "/api/mobile/v1/device", body, now)
	h.do(acmeHost, "PATCH", "/api/mobile/v1/device", body, replayed).want(t, 200, "")

	var first []byte
	for name, tc := range map[string]struct {
		host, method, target string
		body                 []byte
		hdr                  map[string]string
	}{
		"61 s old":         {acmeHost, "PATCH", "/api/mobile/v1/device", body, sign(dev.key, dev.id, "PATCH", "/api/mobile/v1/device", body, now.Add(-61*time.Second))},
		"61 s ahead":       {acmeHost, "PATCH", "/api/mobile/v1/device", body, sign(dev.key, dev.id, "PATCH", "/api/mobile/v1/device", body, now.Add(61*time.Second))},
		"wrong key":        {acmeHost, "PATCH", "/api/mobile/v1/device", body, sign(other, dev.id, "PATCH", "/api/mobile/v1/device", body, now)},
		"replayed nonce":   {acmeHost, "PATCH", "/api/mobile/v1/device", body, replayed},
		"tampered body":    {acmeHost, "PATCH", "/api/mobile/v1/device", []byte(`{"name":"Evil phone"}`), sign(dev.key, dev.id, "PATCH", "/api/mobile/v1/device", body, now)},
		"tampered query":   {acmeHost, "GET", "/api/mobile/v1/challenges?x=1", nil, sign(dev.key, dev.id, "GET", "/api/mobile/v1/challenges", nil, now)},
		"tampered method":  {acmeHost, "DELETE", "/api/mobile/v1/device", nil, sign(dev.key, dev.id, "GET", "/api/mobile/v1/device", nil, now)},
		"unknown device":   {acmeHost, "GET", "/api/mobile/v1/device", nil, sign(dev.key, "00000000-0000-4000-8000-000000000bad", "GET", "/api/mobile/v1/device", nil, now)},
		"another tenant":   {globexHost, "GET", "/api/mobile/v1/device", nil, sign(dev.key, dev.id, "GET", "/api/mobile/v1/device", nil, now)},
		"no headers":       {acmeHost, "GET", "/api/mobile/v1/device", nil, nil},
		"garbage headers":  {acmeHost, "GET", "/api/mobile/v1/device", nil, map[string]string{mobileapi.HeaderDevice: "../x", mobileapi.HeaderTimestamp: "yesterday", mobileapi.HeaderNonce: "!", mobileapi.HeaderSignature: "?"}},
		"short nonce":      {acmeHost, "GET", "/api/mobile/v1/device", nil, withHeader(sign(dev.key, dev.id, "GET", "/api/mobile/v1/device", nil, now), mobileapi.HeaderNonce, "AAAA")},
		"local timestamp":  {acmeHost, "GET", "/api/mobile/v1/device", nil, withHeader(sign(dev.key, dev.id, "GET", "/api/mobile/v1/device", nil, now), mobileapi.HeaderTimestamp, now.Format("2006-01-02T15:04:05+00:00"))},
		"signature of 1 B": {acmeHost, "GET", "/api/mobile/v1/device", nil, withHeader(sign(dev.key, dev.id, "GET", "/api/mobile/v1/device", nil, now), mobileapi.HeaderSignature, "AA")},
	} {
		r := h.do(tc.host, tc.method, tc.target, tc.body, tc.hdr)
		if r.status != 401 || r.json(t)["error"] != "unauthenticated" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
			continue
		}
		if first == nil {
			first = r.body
		} else if !bytes.Equal(first, r.body) {
			t.Errorf("%s: answer %s differs from %s", name, r.body, first)
		}
	}
	if got := h.GetDevice(h.Tenant, dev.id).Name; got != "Work phone" {
		t.Fatalf("device name %q: a refused request changed it", got)
	}
	// At exactly 60 s either way the timestamp is still accepted.
	for _, d := range []time.Duration{-60 * time.Second, 60 * time.Second} {
		h.do(acmeHost, "GET", "/api/mobile/v1/device", nil, sign(dev.key, dev.id, "GET", "/api/mobile/v1/device", nil, now.Add(d))).want(t, 200, "")
	}
}

func withHeader(h map[string]string, k, v string) map[string]string {
	h[k] = v
	return h
}

// TestReplayIsRefusedUntilTheTimestampIsStale_R34: a nonce stays used for
// as long as its timestamp is acceptable, across counter windows.
func TestReplayIsRefusedUntilTheTimestampIsStale_R34(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.enrollDevice(h.Tenant, h.ann.ID, "k1")
	// A timestamp just before a 5-minute boundary, replayed after it.
	h.Clock.Advance(5*time.Minute - time.Second)
	hdr, err := mobileapi.SignRequest(dev.key.Priv, dev.id, "GET", "/api/mobile/v1/challenges", nil, h.Clock.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.do(acmeHost, "GET", "/api/mobile/v1/challenges", nil, hdr).want(t, 200, "")
	for _, d := range []time.Duration{2 * time.Second, 58 * time.Second} {
		h.Clock.Advance(d)
		h.do(acmeHost, "GET", "/api/mobile/v1/challenges", nil, hdr).want(t, 401, "unauthenticated")
	}
}

// TestPollingListsThePendingChallenge_R30_R34: with no Sender at all, the
// device finds the challenge by polling, with its context and without the
// number; answered challenges leave the list.
func TestPollingListsThePendingChallenge_R30_R34(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.enrollDevice(h.Tenant, h.ann.ID, "k1")
	r := h.signed(dev, "GET", "/api/mobile/v1/challenges", nil)
	r.want(t, 200, "")
	if got := r.json(t)["challenges"].([]any); len(got) != 0 {
		t.Fatalf("challenges before any push: %s", r.body)
	}
	cid, n := h.pushTo(h.ann.ID)
	h.Clock.Advance(2 * time.Second)
	r = h.signed(dev, "GET", "/api/mobile/v1/challenges", nil)
	r.want(t, 200, "")
	list := r.json(t)["challenges"].([]any)
	if len(list) != 1 {
		t.Fatalf("challenges: %s", r.body)
	}
	c := list[0].(map[string]any)
	ctx := c["context"].(map[string]any)
	if c["cid"] != cid || c["purpose"] != "reset" || c["state"] != "pending" || c["number_matching"] != true ||
		c["expires_at"] != approvaltest.T0.Add(120*time.Second).Format(time.RFC3339) ||
		ctx["tenant_name"] != "Acme" || ctx["ip"] != "203.0.113.7" || ctx["browser"] != "Firefox on Linux" || ctx["action"] != "reset" ||
		ctx["app"] != "Self-service portal" || ctx["time"] != approvaltest.T0.Format(time.RFC3339) {
		t.Fatalf("challenge: %s", r.body)
	}
	if _, ok := c["number"]; ok || bytes.Contains(r.body, []byte(`:`+strconv.Itoa(n)+`,`)) {
		t.Fatalf("the challenge shows the number: %s", r.body)
	}
	one := h.signed(dev, "GET", "/api/mobile/v1/challenges/"+cid, nil)
	one.want(t, 200, "")
	if one.json(t)["cid"] != cid {
		t.Fatalf("challenge: %s", one.body)
	}
	h.answer(dev, dev.key, cid, challenge.DecisionDeny, 0).want(t, 200, "")
	r = h.signed(dev, "GET", "/api/mobile/v1/challenges", nil)
	if got := r.json(t)["challenges"].([]any); len(got) != 0 {
		t.Fatalf("challenges after the answer: %s", r.body)
	}
}

// TestAnswerWithTheRightNumberOnce_R28_R30: the right number approves (the
// flow sees "approved"); a second answer is 409.
func TestAnswerWithTheRightNumberOnce_R28_R30(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.enrollDevice(h.Tenant, h.ann.ID, "k1")
	cid, n := h.pushTo(h.ann.ID)
	h.Clock.Advance(4 * time.Second)
	r := h.answer(dev, dev.key, cid, challenge.DecisionApprove, n)
	r.want(t, 200, "")
	if r.json(t)["state"] != "approved" {
		t.Fatalf("answer: %s", r.body)
	}
	if s, err := h.push.Status(h.Ctx, h.Tenant, cid); err != nil || s != "approved" {
		t.Fatalf("status %q %v", s, err)
	}
	h.answer(dev, dev.key, cid, challenge.DecisionApprove, n).want(t, 409, "already_answered")
}

// TestWrongNumberIsRefusedAndDenies_R28: the wrong number is 422 and the
// challenge is denied; the right number afterwards is 409.
func TestWrongNumberIsRefusedAndDenies_R28(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.enrollDevice(h.Tenant, h.ann.ID, "k1")
	cid, n := h.pushTo(h.ann.ID)
	wrong := 10 + (n-10+1)%90
	h.answer(dev, dev.key, cid, challenge.DecisionApprove, wrong).want(t, 422, "wrong_number")
	r := h.signed(dev, "GET", "/api/mobile/v1/challenges/"+cid, nil)
	if r.json(t)["state"] != "denied" {
		t.Fatalf("after a wrong number: %s", r.body)
	}
	h.answer(dev, dev.key, cid, challenge.DecisionApprove, n).want(t, 409, "already_answered")
	if s, _ := h.push.Status(h.Ctx, h.Tenant, cid); s != "denied" {
		t.Fatalf("status %q", s)
	}
}

// TestLateAnswerIsGone_R30: an answer at 121 s is 410 expired.
func TestLateAnswerIsGone_R30(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.enrollDevice(h.Tenant, h.ann.ID, "k1")
	cid, n := h.pushTo(h.ann.ID)
	h.Clock.Advance(121 * time.Second)
	h.answer(dev, dev.key, cid, challenge.DecisionApprove, n).want(t, 410, "expired")
}

// TestAnotherUsersDeviceCannotFetchOrAnswer_R31: Bob's device gets 404 for
// Ann's challenge, sees nothing when polling, and cannot answer it; an
// answer signed with Bob's key on Ann's signed channel is 401; Ann's
// challenge stays pending throughout.
func TestAnotherUsersDeviceCannotFetchOrAnswer_R31(t *testing.T) {
	h := newHarness(t, nil)
	ann := h.enrollDevice(h.Tenant, h.ann.ID, "k1")
	bob := h.enrollDevice(h.Tenant, h.User(h.Tenant, "bob").ID, "k1")
	cid, n := h.pushTo(h.ann.ID)
	h.signed(bob, "GET", "/api/mobile/v1/challenges/"+cid, nil).want(t, 404, "not_found")
	if got := h.signed(bob, "GET", "/api/mobile/v1/challenges", nil).json(t)["challenges"].([]any); len(got) != 0 {
		t.Fatalf("bob polls %v", got)
	}
	h.answer(bob, bob.key, cid, challenge.DecisionApprove, n).want(t, 404, "not_found")
	h.answer(ann, bob.key, cid, challenge.DecisionApprove, n).want(t, 401, "unauthenticated")
	// An answer Ann signed for another challenge does not answer this one.
	cid2, _ := func() (string, int) { h.Clock.Advance(31 * time.Second); return h.pushTo(h.ann.ID) }()
	h.signed(ann, "POST", "/api/mobile/v1/challenges/"+cid+"/answer", h.Answer(ann.key, cid2, challenge.DecisionApprove, n).Encode()).
		want(t, 401, "unauthenticated")
	if s, _ := h.push.Status(h.Ctx, h.Tenant, cid); s != "pending" {
		t.Fatalf("status %q", s)
	}
}

// TestMalformedAnswers: bad bodies and cids are 400 and change nothing.
func TestMalformedAnswers(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.enrollDevice(h.Tenant, h.ann.ID, "k1")
	cid, n := h.pushTo(h.ann.ID)
	good := h.Answer(dev.key, cid, challenge.DecisionApprove, n)
	spaced := challenge.SignedAnswer{Payload: append([]byte(" "), good.Payload...), Signature: good.Signature}
	for name, body := range map[string][]byte{
		"not JSON":         []byte("approve"),
		"no payload":       []byte(`{"sig":"AA"}`),
		"payload padded":   []byte(`{"payload":"` + b64.EncodeToString(good.Payload) + `==","sig":"AA"}`),
		"not canonical":    spaced.Encode(),
		"extra member":     []byte(`{"payload":"AA","sig":"AA","x":1}`),
		"payload not JSON": challenge.SignedAnswer{Payload: []byte("yes"), Signature: good.Signature}.Encode(),
	} {
		if r := h.signed(dev, "POST", "/api/mobile/v1/challenges/"+cid+"/answer", body); r.status != 400 || r.json(t)["error"] != "malformed" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	h.signed(dev, "GET", "/api/mobile/v1/challenges/NOT-A-CID", nil).want(t, 400, "malformed")
	h.signed(dev, "POST", "/api/mobile/v1/challenges/"+strings.ToUpper(cid)+"/answer", good.Encode()).want(t, 400, "malformed")
	h.signed(dev, "GET", "/api/mobile/v1/challenges/"+strings.Repeat("0", 32), nil).want(t, 404, "not_found")
	h.signed(dev, "POST", "/api/mobile/v1/challenges/"+cid+"/answer", good.Encode()).want(t, 200, "")
}

// TestReportFreezesTheUser_R29: "this wasn't me" answers reported, freezes
// the user's self-service, calls OnReport, and no push reaches the user.
func TestReportFreezesTheUser_R29(t *testing.T) {
	s := &approvaltest.Sender{}
	h := newHarness(t, s)
	dev := h.enrollDevice(h.Tenant, h.ann.ID, "k1")
	cid, _ := h.pushTo(h.ann.ID)
	r := h.answer(dev, dev.key, cid, challenge.DecisionReport, 0)
	r.want(t, 200, "")
	if r.json(t)["state"] != "reported" {
		t.Fatalf("report: %s", r.body)
	}
	if h.GetUser(h.Tenant, h.ann.ID).FrozenAt.IsZero() {
		t.Fatal("the user is not frozen")
	}
	if len(h.reports) != 1 || h.reports[0] != h.ann.ID {
		t.Fatalf("OnReport: %v", h.reports)
	}
	h.Clock.Advance(time.Hour)
	if _, _, ok, err := h.push.Push(h.Ctx, h.Tenant, h.ann.ID, "reset", flow.Client{IP: "203.0.113.7"}); ok || err != nil {
		t.Fatalf("push to a frozen user: ok=%v err=%v", ok, err)
	}
}

// TestDeviceSelfService: the device reads, renames itself, switches to
// polling and back, and removes itself; afterwards its requests are 401
// and the integrator heard of the removal.
func TestDeviceSelfService(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.enrollDevice(h.Tenant, h.ann.ID, "k1")
	r := h.signed(dev, "PATCH", "/api/mobile/v1/device", []byte(`{"name":"Work phone"}`))
	r.want(t, 200, "")
	if r.json(t)["name"] != "Work phone" {
		t.Fatalf("rename: %s", r.body)
	}
	h.signed(dev, "PATCH", "/api/mobile/v1/device", []byte(`{}`)).want(t, 400, "malformed")
	h.signed(dev, "PUT", "/api/mobile/v1/device/push-token", []byte(`{"push_token":"fcm-2"}`)).want(t, 204, "")
	if d := h.GetDevice(h.Tenant, dev.id); d.PushToken != "fcm-2" || !d.PushTokenUpdatedAt.Equal(h.Clock.Now()) {
		t.Fatalf("token %+v", d)
	}
	if got := h.signed(dev, "GET", "/api/mobile/v1/device", nil).json(t)["push"]; got != true {
		t.Fatalf("push %v", got)
	}
	h.signed(dev, "PUT", "/api/mobile/v1/device/push-token", []byte(`{"push_token":""}`)).want(t, 204, "")
	if got := h.signed(dev, "GET", "/api/mobile/v1/device", nil).json(t)["push"]; got != false {
		t.Fatalf("push after clearing the token %v", got)
	}
	h.signed(dev, "PUT", "/api/mobile/v1/device/push-token", []byte(`{"token":"x"}`)).want(t, 400, "malformed")
	h.signed(dev, "DELETE", "/api/mobile/v1/device", nil).want(t, 204, "")
	h.signed(dev, "GET", "/api/mobile/v1/device", nil).want(t, 401, "unauthenticated")
	ch := h.deviceChanges()
	if len(ch) != 2 || ch[1].Change != mobileapi.DeviceRemoved || ch[1].Device.ID != dev.id {
		t.Fatalf("device changes %+v", ch)
	}
}

// TestLastSeenIsRecorded: signed requests move the device's LastSeenAt (at
// most once a minute), which decides where the next push goes.
func TestLastSeenIsRecorded(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.enrollDevice(h.Tenant, h.ann.ID, "k1")
	h.Clock.Advance(30 * time.Second)
	h.signed(dev, "GET", "/api/mobile/v1/challenges", nil).want(t, 200, "")
	if got := h.GetDevice(h.Tenant, dev.id).LastSeenAt; !got.Equal(approvaltest.T0) {
		t.Fatalf("LastSeenAt %v after 30 s", got)
	}
	h.Clock.Advance(time.Minute)
	h.signed(dev, "GET", "/api/mobile/v1/challenges", nil).want(t, 200, "")
	if got := h.GetDevice(h.Tenant, dev.id).LastSeenAt; !got.Equal(h.Clock.Now()) {
		t.Fatalf("LastSeenAt %v, want %v", got, h.Clock.Now())
	}
}

// TestUnknownPathIsJSON404: anything else under the prefix is a JSON 404.
func TestUnknownPathIsJSON404(t *testing.T) {
	h := newHarness(t, nil)
	h.do(acmeHost, "GET", "/api/mobile/v1/admin", nil, nil).want(t, 404, "not_found")
	h.do(acmeHost, "GET", "/api/mobile/v1/enroll", nil, nil).want(t, 404, "not_found")
}
