package approval_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/push/approval"
	"github.com/latchkey/latchkey/push/approval/approvaltest"
	"github.com/latchkey/latchkey/tenants"
)

func enrollments(t *testing.T, e *approvaltest.Env) *approval.Enrollments {
	t.Helper()
	en, err := approval.NewEnrollments(e.Scope(), nil, e.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return en
}

// start returns the id and secret of a new enrollment link.
func start(t *testing.T, e *approvaltest.Env, en *approval.Enrollments, ten *tenants.Tenant, userID string) (id, secret string) {
	t.Helper()
	link, expires, err := en.Start(e.Ctx, ten, userID, "https://acme.latchkey.test/")
	if err != nil {
		t.Fatal(err)
	}
	if !expires.Equal(e.Clock.Now().Add(10 * time.Minute)) {
		t.Fatalf("expires %v", expires)
	}
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" || u.Host != "acme.latchkey.test" || u.Path != "/m/enroll" {
		t.Fatalf("link %q", link)
	}
	id, secret = u.Query().Get("id"), u.Query().Get("secret")
	if len(id) != 22 || len(secret) != 43 {
		t.Fatalf("id %q secret %q", id, secret)
	}
	return id, secret
}

// fresh is an Env with the user ann and an enrollment link for her.
type fresh struct {
	*approvaltest.Env
	en         *approval.Enrollments
	user       tenants.User
	id, secret string
}

func newFresh(t *testing.T) fresh {
	t.Helper()
	e := approvaltest.New(t)
	f := fresh{Env: e, en: enrollments(t, e), user: e.User(e.Tenant, "ann")}
	f.id, f.secret = start(t, e, f.en, e.Tenant, f.user.ID)
	return f
}

// redeem redeems the link on ten with a new key.
func (f fresh) redeem(t *testing.T, ten *tenants.Tenant, secret, keyID string) error {
	t.Helper()
	_, _, err := f.en.Redeem(f.Ctx, ten, f.id, secret, newDevice(approvaltest.NewKey(t, keyID)))
	return err
}

func newDevice(k approvaltest.Key) approval.NewDevice {
	return approval.NewDevice{Name: "Ann's Pixel", Platform: "android", KeyID: k.KeyID, PublicKey: k.DER, PushToken: "tok-1"}
}

// TestEnrollmentIsSingleUse_R32: the link enrolls the device once, for the
// user who started it; the same secret again is refused.
func TestEnrollmentIsSingleUse_R32(t *testing.T) {
	f := newFresh(t)
	k := approvaltest.NewKey(t, "k1")
	d, u, err := f.en.Redeem(f.Ctx, f.Tenant, f.id, f.secret, newDevice(k))
	if err != nil {
		t.Fatal(err)
	}
	if d.UserID != f.user.ID || u.ID != f.user.ID || d.KeyID != "k1" || !bytes.Equal(d.PublicKey, k.DER) || d.PushToken != "tok-1" ||
		!d.LastSeenAt.Equal(approvaltest.T0) {
		t.Fatalf("device %+v", d)
	}
	if err := f.redeem(t, f.Tenant, f.secret, "k2"); !errors.Is(err, approval.ErrEnrollmentInvalid) {
		t.Fatalf("reused secret: %v", err)
	}
}

// TestExpiredEnrollmentIsRefused_R32: ten minutes after Start the link no
// longer works.
func TestExpiredEnrollmentIsRefused_R32(t *testing.T) {
	f := newFresh(t)
	f.Clock.Advance(10 * time.Minute)
	if err := f.redeem(t, f.Tenant, f.secret, "k1"); !errors.Is(err, approval.ErrEnrollmentInvalid) {
		t.Fatalf("expired: %v", err)
	}
}

// TestEnrollmentOfAnotherTenant_R32: a link of one tenant does nothing on
// another tenant's host, and stays usable on its own.
func TestEnrollmentOfAnotherTenant_R32(t *testing.T) {
	f := newFresh(t)
	other := f.NewTenant("globex", "Globex", "")
	if err := f.redeem(t, other, f.secret, "k1"); !errors.Is(err, approval.ErrEnrollmentInvalid) {
		t.Fatalf("another tenant: %v", err)
	}
	if err := f.redeem(t, f.Tenant, f.secret, "k1"); err != nil {
		t.Fatalf("own tenant after the attempt: %v", err)
	}
}

// TestWrongSecretIsRefused_R32: a wrong secret for a known id is refused
// and does not use the enrollment up.
func TestWrongSecretIsRefused_R32(t *testing.T) {
	f := newFresh(t)
	for _, s := range []string{strings.Repeat("A", 43), f.secret[:42], f.secret + "A", ""} {
		if err := f.redeem(t, f.Tenant, s, "k1"); !errors.Is(err, approval.ErrEnrollmentInvalid) {
			t.Fatalf("secret %q: %v", s, err)
		}
	}
	if err := f.redeem(t, f.Tenant, f.secret, "k1"); err != nil {
		t.Fatalf("right secret after wrong ones: %v", err)
	}
}

// TestEnrollmentStoresOnlyTheHash_R32: the database files hold neither the
// secret nor the id, only the secret's SHA-256.
func TestEnrollmentStoresOnlyTheHash_R32(t *testing.T) {
	f := newFresh(t)
	files := f.Files()
	sum := sha256.Sum256([]byte(f.secret))
	if !bytes.Contains(files, []byte(hex.EncodeToString(sum[:]))) {
		t.Fatal("the scan does not find the secret's hash: it reads nothing")
	}
	for _, s := range []string{f.secret, f.id} {
		if bytes.Contains(files, []byte(s)) {
			t.Fatalf("the database holds %q", s)
		}
	}
}

// TestDuplicateKeyIDKeepsTheEnrollment: a key id the user already has is
// refused before the enrollment is used up.
func TestDuplicateKeyIDKeepsTheEnrollment(t *testing.T) {
	f := newFresh(t)
	k := approvaltest.NewKey(t, "k1")
	f.Device(f.Tenant, f.user.ID, k, "")
	if _, _, err := f.en.Redeem(f.Ctx, f.Tenant, f.id, f.secret, newDevice(k)); !errors.Is(err, approval.ErrKeyIDTaken) {
		t.Fatalf("duplicate key id: %v", err)
	}
	if err := f.redeem(t, f.Tenant, f.secret, "k2"); err != nil {
		t.Fatalf("after a duplicate key id: %v", err)
	}
}

// TestRedeemRefusesABadKey: a public key that is not P-256 is refused.
func TestRedeemRefusesABadKey(t *testing.T) {
	f := newFresh(t)
	nd := newDevice(approvaltest.NewKey(t, "k1"))
	nd.PublicKey = []byte("not a key")
	if _, _, err := f.en.Redeem(f.Ctx, f.Tenant, f.id, f.secret, nd); !errors.Is(err, approval.ErrBadKey) {
		t.Fatalf("bad key: %v", err)
	}
}

// TestStartNeedsAUserAndAnHTTPBase: Start refuses an unknown user and a
// base URL that is not http(s).
func TestStartNeedsAUserAndAnHTTPBase(t *testing.T) {
	f := newFresh(t)
	if _, _, err := f.en.Start(f.Ctx, f.Tenant, "00000000-0000-4000-8000-00000000dead", "https://acme.latchkey.test"); err == nil {
		t.Fatal("unknown user accepted")
	}
	if _, _, err := f.en.Start(f.Ctx, f.Tenant, f.user.ID, "acme.latchkey.test"); err == nil {
		t.Fatal("base URL without a scheme accepted")
	}
}
