package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

var connectorTests = []subTest{
	{"join token is stored by hash and listed", testJoinTokenCreate},
	{"invalid join token is refused", testJoinTokenInvalid},
	{"redeem registers the connector and uses the token once (R5, R52)", testRedeemOnce},
	{"20 concurrent redemptions of one token make exactly 1 connector (R5)", testRedeemConcurrent},
	{"expired token cannot be redeemed (R52)", testRedeemExpired},
	{"unknown token finds nothing", testRedeemUnknown},
	{"invalid connector leaves the token unused", testRedeemInvalidConnector},
	{"revoke sets RevokedAt once and the hub's lookup sees it", testConnectorRevoke},
	{"touch only moves LastSeenAt forward", testConnectorTouch},
	{"hub lookup by id crosses tenants and finds nothing for unknown ids", testConnectorByID},
	{"join tokens not visible from another tenant (R41)", testJoinTokenIsolation},
	{"connectors not visible from another tenant (R41)", testConnectorIsolation},
	{"unknown tenant has no tokens or connectors", testConnectorUnknownTenant},
}

// newTokenHash returns the SHA-256 of a fresh random token.
func newTokenHash(t *testing.T) []byte {
	t.Helper()
	h := sha256.Sum256([]byte("lkjt_" + randomLabel(t, 32)))
	return h[:]
}

// createToken stores a fresh token valid for an hour and returns its hash.
func createToken(t *testing.T, ts store.TenantStore) (tenants.JoinToken, []byte) {
	t.Helper()
	h := newTokenHash(t)
	tok, err := ts.CreateJoinToken(ctx(t), tenants.JoinToken{Hash: h, CreatedBy: "operator", ExpiresAt: time.Now().Add(time.Hour)})
	must(t, "CreateJoinToken", err)
	return tok, h
}

// sampleConnector is what an enrollment request carries.
func sampleConnector(name string) tenants.Connector {
	sign := bytes.Repeat([]byte{0xed}, 32)
	seal := logoBytes()[:200] // every byte value matters: keys are binary
	return tenants.Connector{Name: name, SignKey: sign, SealKey: seal, AgentVersion: "1.2.3",
		Domains: []string{"corp.example.com", "emea.corp.example.com"}}
}

// enrolled creates a token in ts and redeems it with a connector.
func enrolled(t *testing.T, ts store.TenantStore, name string) tenants.Connector {
	t.Helper()
	_, h := createToken(t, ts)
	c, err := ts.RedeemJoinToken(ctx(t), h, sampleConnector(name))
	must(t, "RedeemJoinToken", err)
	return c
}

func testJoinTokenCreate(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	h := newTokenHash(t)
	exp := time.Now().Add(90 * time.Minute).UTC().Truncate(time.Microsecond)
	tok, err := ts.CreateJoinToken(ctx(t), tenants.JoinToken{TenantID: "someone-else", Hash: h, CreatedBy: "operator", ExpiresAt: exp})
	must(t, "CreateJoinToken", err)
	if _, err := uuid.Parse(tok.ID); err != nil {
		t.Errorf("token ID %q is not a UUID", tok.ID)
	}
	if tok.TenantID != ten.ID {
		t.Errorf("TenantID = %s, want the store's own %s", tok.TenantID, ten.ID)
	}
	wantUTC(t, "token times", tok.CreatedAt, tok.ExpiresAt)
	if !tok.ExpiresAt.Equal(exp) {
		t.Errorf("ExpiresAt = %s, want %s", tok.ExpiresAt, exp)
	}
	_, h2 := createToken(t, ts)
	list, err := ts.ListJoinTokens(ctx(t))
	must(t, "ListJoinTokens", err)
	if len(list) != 2 {
		t.Fatalf("ListJoinTokens = %d tokens, want 2", len(list))
	}
	if !bytes.Equal(list[0].Hash, h2) && !list[0].CreatedAt.Equal(list[1].CreatedAt) {
		t.Errorf("ListJoinTokens is not newest first")
	}
	for _, got := range list {
		if bytes.Equal(got.Hash, h) {
			wantSame(t, "listed token", got, tok)
		}
		if !got.UsedAt.IsZero() || got.ConnectorID != "" {
			t.Errorf("a new token is listed as used: %+v", got)
		}
	}
	// The same hash twice in one tenant is a duplicate.
	_, err = ts.CreateJoinToken(ctx(t), tenants.JoinToken{Hash: h, ExpiresAt: exp})
	wantErr(t, "CreateJoinToken with a duplicate hash", err, store.ErrAlreadyExists)
}

func testJoinTokenInvalid(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	for name, tok := range map[string]tenants.JoinToken{
		"short hash":          {Hash: []byte("abc"), ExpiresAt: time.Now().Add(time.Hour)},
		"no expiry":           {Hash: newTokenHash(t)},
		"expiry in the past":  {Hash: newTokenHash(t), ExpiresAt: time.Now().Add(-time.Second)},
		"already used":        {Hash: newTokenHash(t), ExpiresAt: time.Now().Add(time.Hour), UsedAt: time.Now()},
		"already a connector": {Hash: newTokenHash(t), ExpiresAt: time.Now().Add(time.Hour), ConnectorID: uuid.NewString()},
	} {
		_, err := ts.CreateJoinToken(ctx(t), tok)
		wantErr(t, "CreateJoinToken with "+name, err, store.ErrInvalid)
	}
	list, err := ts.ListJoinTokens(ctx(t))
	must(t, "ListJoinTokens", err)
	if len(list) != 0 {
		t.Errorf("invalid tokens were stored: %+v", list)
	}
}

func testRedeemOnce(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	tok, h := createToken(t, ts)
	in := sampleConnector("dc01.corp.example.com")
	in.TenantID, in.ID, in.RevokedAt, in.LastSeenAt = "ignored", "ignored", time.Now(), time.Now()
	c, err := ts.RedeemJoinToken(ctx(t), h, in)
	must(t, "RedeemJoinToken", err)
	if _, err := uuid.Parse(c.ID); err != nil || c.ID == "ignored" {
		t.Errorf("connector ID %q is not a fresh UUID", c.ID)
	}
	if c.TenantID != ten.ID {
		t.Errorf("TenantID = %s, want %s", c.TenantID, ten.ID)
	}
	if c.Revoked() || !c.LastSeenAt.IsZero() {
		t.Errorf("a new connector is revoked or seen: %+v", c)
	}
	wantUTC(t, "connector CreatedAt", c.CreatedAt)
	want := sampleConnector("dc01.corp.example.com")
	want.TenantID, want.ID, want.CreatedAt = ten.ID, c.ID, c.CreatedAt
	wantSame(t, "redeemed connector", c, want)
	got, err := ts.GetConnector(ctx(t), c.ID)
	must(t, "GetConnector", err)
	wantSame(t, "GetConnector", got, c)
	list, err := ts.ListConnectors(ctx(t))
	must(t, "ListConnectors", err)
	wantSame(t, "ListConnectors", list, []tenants.Connector{c})

	_, err = ts.RedeemJoinToken(ctx(t), h, sampleConnector("again"))
	wantErr(t, "second RedeemJoinToken", err, store.ErrNotFound)
	if list, _ := ts.ListConnectors(ctx(t)); len(list) != 1 {
		t.Errorf("a used token made another connector: %d connectors", len(list))
	}
	toks, err := ts.ListJoinTokens(ctx(t))
	must(t, "ListJoinTokens", err)
	if len(toks) != 1 || toks[0].ID != tok.ID || toks[0].ConnectorID != c.ID || toks[0].UsedAt.IsZero() {
		t.Errorf("used token = %+v, want UsedAt set and ConnectorID %s", toks, c.ID)
	} else {
		wantUTC(t, "UsedAt", toks[0].UsedAt)
	}
}

func testRedeemConcurrent(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, h := createToken(t, ts)
	const n = 20
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		wins  []tenants.Connector
		start = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := ts.RedeemJoinToken(ctx(t), h, sampleConnector("racer-"+string(rune('a'+i))))
			switch {
			case err == nil:
				mu.Lock()
				wins = append(wins, c)
				mu.Unlock()
			case isNotFound(err):
			default:
				t.Errorf("concurrent RedeemJoinToken: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("%d of %d concurrent redemptions won, want exactly 1 (R5)", len(wins), n)
	}
	list, err := ts.ListConnectors(ctx(t))
	must(t, "ListConnectors", err)
	if len(list) != 1 || list[0].ID != wins[0].ID {
		t.Errorf("connectors after the race = %+v, want only the winner %s", list, wins[0].ID)
	}
}

func testRedeemExpired(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	h := newTokenHash(t)
	_, err := ts.CreateJoinToken(ctx(t), tenants.JoinToken{Hash: h, ExpiresAt: time.Now().Add(300 * time.Millisecond)})
	must(t, "CreateJoinToken", err)
	time.Sleep(400 * time.Millisecond)
	_, err = ts.RedeemJoinToken(ctx(t), h, sampleConnector("late"))
	wantErr(t, "RedeemJoinToken of an expired token", err, store.ErrNotFound)
	if list, _ := ts.ListConnectors(ctx(t)); len(list) != 0 {
		t.Errorf("an expired token made a connector")
	}
}

func testRedeemUnknown(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	createToken(t, ts)
	for name, h := range map[string][]byte{"random hash": newTokenHash(t), "nil": nil, "short": []byte("x")} {
		_, err := ts.RedeemJoinToken(ctx(t), h, sampleConnector("x"))
		wantErr(t, "RedeemJoinToken of "+name, err, store.ErrNotFound)
	}
}

func testRedeemInvalidConnector(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, h := createToken(t, ts)
	bad := sampleConnector("bad")
	bad.SignKey = []byte("short")
	_, err := ts.RedeemJoinToken(ctx(t), h, bad)
	wantErr(t, "RedeemJoinToken with a bad sign key", err, store.ErrInvalid)
	noName := sampleConnector(" ")
	_, err = ts.RedeemJoinToken(ctx(t), h, noName)
	wantErr(t, "RedeemJoinToken without a name", err, store.ErrInvalid)
	if _, err := ts.RedeemJoinToken(ctx(t), h, sampleConnector("good")); err != nil {
		t.Errorf("the token was used up by invalid attempts: %v", err)
	}
}

func testConnectorRevoke(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	c := enrolled(t, ts, "dc01")
	other := enrolled(t, ts, "dc02")
	r, err := ts.RevokeConnector(ctx(t), c.ID)
	must(t, "RevokeConnector", err)
	if !r.Revoked() {
		t.Fatalf("RevokeConnector returned an unrevoked record")
	}
	wantUTC(t, "RevokedAt", r.RevokedAt)
	time.Sleep(2 * time.Millisecond)
	again, err := ts.RevokeConnector(ctx(t), c.ID)
	must(t, "RevokeConnector again", err)
	if !again.RevokedAt.Equal(r.RevokedAt) {
		t.Errorf("revoking twice moved RevokedAt from %s to %s", r.RevokedAt, again.RevokedAt)
	}
	got, err := s.Platform().ConnectorByID(ctx(t), c.ID)
	must(t, "ConnectorByID", err)
	if !got.RevokedAt.Equal(r.RevokedAt) {
		t.Errorf("ConnectorByID RevokedAt = %s, want %s", got.RevokedAt, r.RevokedAt)
	}
	if o, _ := ts.GetConnector(ctx(t), other.ID); o.Revoked() {
		t.Errorf("revoking one connector revoked another")
	}
	_, err = ts.RevokeConnector(ctx(t), uuid.NewString())
	wantErr(t, "RevokeConnector of an unknown id", err, store.ErrNotFound)
	_, err = ts.RevokeConnector(ctx(t), "not-a-uuid")
	wantErr(t, "RevokeConnector of a malformed id", err, store.ErrNotFound)
}

func testConnectorTouch(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	c := enrolled(t, ts, "dc01")
	t1 := time.Now().Add(time.Minute).UTC().Truncate(time.Microsecond)
	must(t, "TouchConnector", ts.TouchConnector(ctx(t), c.ID, t1))
	got, err := ts.GetConnector(ctx(t), c.ID)
	must(t, "GetConnector", err)
	if !got.LastSeenAt.Equal(t1) {
		t.Errorf("LastSeenAt = %s, want %s", got.LastSeenAt, t1)
	}
	wantUTC(t, "LastSeenAt", got.LastSeenAt)
	must(t, "TouchConnector with an earlier time", ts.TouchConnector(ctx(t), c.ID, t1.Add(-time.Second)))
	if got, _ := ts.GetConnector(ctx(t), c.ID); !got.LastSeenAt.Equal(t1) {
		t.Errorf("an earlier touch moved LastSeenAt back to %s", got.LastSeenAt)
	}
	wantErr(t, "TouchConnector of an unknown id", ts.TouchConnector(ctx(t), uuid.NewString(), t1), store.ErrNotFound)
	wantErr(t, "TouchConnector of a malformed id", ts.TouchConnector(ctx(t), "nope", t1), store.ErrNotFound)
}

func testConnectorByID(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	b, tsB := createTenant(t, s)
	ca := enrolled(t, tsA, "a")
	cb := enrolled(t, tsB, "b")
	for _, tc := range []struct {
		c      tenants.Connector
		tenant tenants.ID
	}{{ca, a.ID}, {cb, b.ID}} {
		got, err := s.Platform().ConnectorByID(ctx(t), tc.c.ID)
		must(t, "ConnectorByID", err)
		if got.TenantID != tc.tenant {
			t.Errorf("ConnectorByID(%s).TenantID = %s, want %s", tc.c.ID, got.TenantID, tc.tenant)
		}
		wantSame(t, "ConnectorByID", got, tc.c)
	}
	for _, id := range []string{uuid.NewString(), "not-a-uuid", "", "%"} {
		_, err := s.Platform().ConnectorByID(ctx(t), id)
		wantErr(t, "ConnectorByID("+id+")", err, store.ErrNotFound)
	}
}

func testJoinTokenIsolation(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	_, tsB := createTenant(t, s)
	tokA, hA := createToken(t, tsA)
	_, err := tsB.RedeemJoinToken(ctx(t), hA, sampleConnector("thief"))
	wantErr(t, "B redeeming A's token", err, store.ErrNotFound)
	listB, err := tsB.ListJoinTokens(ctx(t))
	must(t, "ListJoinTokens B", err)
	if len(listB) != 0 {
		t.Errorf("B lists %d join tokens, want none of A's", len(listB))
	}
	if cs, _ := tsB.ListConnectors(ctx(t)); len(cs) != 0 {
		t.Errorf("B's failed redemption created a connector for B")
	}
	// A's token is untouched and still works for A.
	listA, err := tsA.ListJoinTokens(ctx(t))
	must(t, "ListJoinTokens A", err)
	if len(listA) != 1 || listA[0].ID != tokA.ID || !listA[0].UsedAt.IsZero() {
		t.Errorf("A's tokens after B's attempt = %+v", listA)
	}
	if _, err := tsA.RedeemJoinToken(ctx(t), hA, sampleConnector("a")); err != nil {
		t.Errorf("A's token no longer works for A: %v", err)
	}
	// The same hash may exist in two tenants without one seeing the other's.
	_, err = tsB.CreateJoinToken(ctx(t), tenants.JoinToken{Hash: hA, ExpiresAt: time.Now().Add(time.Hour)})
	must(t, "B storing a hash A used", err)
}

func testConnectorIsolation(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	_, tsB := createTenant(t, s)
	c := enrolled(t, tsA, "a-dc")
	_, err := tsB.GetConnector(ctx(t), c.ID)
	wantErr(t, "B GetConnector of A's", err, store.ErrNotFound)
	list, err := tsB.ListConnectors(ctx(t))
	must(t, "ListConnectors B", err)
	if len(list) != 0 {
		t.Errorf("B lists %d connectors, want none", len(list))
	}
	_, err = tsB.RevokeConnector(ctx(t), c.ID)
	wantErr(t, "B RevokeConnector of A's", err, store.ErrNotFound)
	wantErr(t, "B TouchConnector of A's", tsB.TouchConnector(ctx(t), c.ID, time.Now()), store.ErrNotFound)
	got, err := tsA.GetConnector(ctx(t), c.ID)
	must(t, "GetConnector A", err)
	wantSame(t, "A's connector after B's attempts", got, c)
}

func testConnectorUnknownTenant(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	enrolled(t, tsA, "a")
	for _, id := range []tenants.ID{tenants.ID(uuid.NewString()), "not-a-uuid", ""} {
		ts := s.Tenant(id)
		_, err := ts.CreateJoinToken(ctx(t), tenants.JoinToken{Hash: newTokenHash(t), ExpiresAt: time.Now().Add(time.Hour)})
		wantErr(t, "CreateJoinToken for tenant "+string(id), err, store.ErrNotFound)
		_, err = ts.RedeemJoinToken(ctx(t), newTokenHash(t), sampleConnector("x"))
		wantErr(t, "RedeemJoinToken for tenant "+string(id), err, store.ErrNotFound)
		if toks, err := ts.ListJoinTokens(ctx(t)); err != nil || len(toks) != 0 {
			t.Errorf("ListJoinTokens = %v, %v; want none", toks, err)
		}
		if cs, err := ts.ListConnectors(ctx(t)); err != nil || len(cs) != 0 {
			t.Errorf("ListConnectors = %v, %v; want none", cs, err)
		}
	}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
