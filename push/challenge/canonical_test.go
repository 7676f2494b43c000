package challenge

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// Golden vector (security.md R31, after privacyIDEA's
// test_02_signed_bytes_reference_vector): the exact bytes a device signs,
// and a deterministic (RFC 6979) ES256 signature over them by a fixed key,
// so the app's implementation can be checked against ours byte for byte.
const (
	goldenPayload = `{"cid":"000102030405060708090a0b0c0d0e0f","decision":"approve","key_id":"dev-key-1","number":42,"ts":"2026-03-01T12:00:00Z"}`
	// goldenKey is the P-256 scalar SHA-256("latchkey push golden vector").
	goldenKey    = "d5ef16573b61263833305bd992beda464df850063c1aacebd78844e66d79f2c2"
	goldenPublic = "046c3231a5eb7bff9c929b98cffadc1dc9d5ff18c84c1a6da7b90e9683c212a24f201f5966950116f99e8651f1769b899f187f00283caf1cdf535ba1ed11763b21"
	goldenSig    = "30450220651c9e30a04d2a622074c393d6b534787acec5391e483cf966aa02f7d49eb45e022100d9e33bd3b951b9d891506f1a5640216123c3424bf827df10b0747b470449c266"
)

func goldenResponse() Response {
	return Response{
		CID: "000102030405060708090a0b0c0d0e0f", Decision: DecisionApprove, Number: 42, KeyID: "dev-key-1",
		TS: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

func TestR31GoldenSignedBytes(t *testing.T) {
	got, err := goldenResponse().CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != goldenPayload {
		t.Fatalf("signed bytes\n got %s\nwant %s", got, goldenPayload)
	}
	// A ts in another zone or with fractions is signed as UTC seconds.
	r := goldenResponse()
	r.TS = time.Date(2026, 3, 1, 13, 0, 0, 999, time.FixedZone("CET", 3600))
	if got, _ := r.CanonicalJSON(); string(got) != goldenPayload {
		t.Errorf("other zone: %s", got)
	}
	// Deny and report leave the number out.
	r = goldenResponse()
	r.Decision, r.Number = DecisionDeny, 0
	want := `{"cid":"000102030405060708090a0b0c0d0e0f","decision":"deny","key_id":"dev-key-1","ts":"2026-03-01T12:00:00Z"}`
	if got, _ := r.CanonicalJSON(); string(got) != want {
		t.Errorf("deny: %s", got)
	}
}

func TestR31GoldenSignature(t *testing.T) {
	seed, _ := hex.DecodeString(goldenKey)
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := key.PublicKey.Bytes()
	if hex.EncodeToString(pub) != goldenPublic {
		t.Fatalf("public key %x", pub)
	}
	digest := sha256.Sum256([]byte(goldenPayload))
	sig, err := key.Sign(nil, digest[:], crypto.SHA256) // nil: RFC 6979
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(sig) != goldenSig {
		t.Errorf("deterministic signature %x", sig)
	}
	want, _ := hex.DecodeString(goldenSig)
	c := &Challenge{
		CID: "000102030405060708090a0b0c0d0e0f", Tenant: tenantA, UserID: "u", DeviceID: "d", Number: 42,
		CreatedAt: time.Date(2026, 3, 1, 11, 59, 30, 0, time.UTC), ExpiresAt: time.Date(2026, 3, 1, 12, 1, 30, 0, time.UTC), State: StatePending,
	}
	dev := Device{Tenant: tenantA, UserID: "u", DeviceID: "d", KeyID: "dev-key-1", PublicKey: &key.PublicKey}
	v, err := Verify(c, dev, SignedAnswer{Payload: []byte(goldenPayload), Signature: want}, time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC))
	if err != nil || v.To != StateApproved {
		t.Fatalf("golden answer: %+v, %v", v, err)
	}
}

func TestCanonicalJSONStrings(t *testing.T) {
	got, err := canonicalJSON([]member{{name: "s", str: "\x00\x1f\b\t\n\f\r\"\\/\x7fé€😀\u2028"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"s":"\u0000\u001f\b\t\n\f\r\"\\/` + "\x7fé€😀\u2028" + `"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := canonicalJSON([]member{{name: "s", str: "\xff"}}); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
	if _, err := canonicalJSON([]member{{name: "a", str: "x"}, {name: "a", str: "y"}}); err == nil {
		t.Error("duplicate names accepted")
	}
	if _, err := canonicalJSON([]member{{name: "n", num: 1 << 53, isNum: true}}); err == nil {
		t.Error("2^53 accepted")
	}
	got, _ = canonicalJSON([]member{{name: "n", num: -7, isNum: true}, {name: "m", num: 0, isNum: true}})
	if string(got) != `{"m":0,"n":-7}` {
		t.Errorf("integers: %s", got)
	}
}

// TestCanonicalJSONSortsByUTF16 uses the sorting example of RFC 8785
// §3.2.3: U+1F600 (a surrogate pair, 0xD83D…) sorts before U+FB33.
func TestCanonicalJSONSortsByUTF16(t *testing.T) {
	ms := []member{
		{name: "\u20ac", str: "Euro Sign"},
		{name: "\r", str: "Carriage Return"},
		{name: "\ufb33", str: "Hebrew Letter Dalet With Dagesh"},
		{name: "1", str: "One"},
		{name: "\U0001f600", str: "Emoji: Grinning Face"},
		{name: "\u0080", str: "Control"},
		{name: "\u00f6", str: "Latin Small Letter O With Diaeresis"},
	}
	got, err := canonicalJSON(ms)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"\r":"Carriage Return","1":"One","` + "\u0080" + `":"Control","` + "\u00f6" + `":"Latin Small Letter O With Diaeresis","` + "\u20ac" + `":"Euro Sign","` + "\U0001f600" + `":"Emoji: Grinning Face","` + "\ufb33" + `":"Hebrew Letter Dalet With Dagesh"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestParseResponseAcceptsCanonical(t *testing.T) {
	r, err := ParseResponse([]byte(goldenPayload))
	if err != nil {
		t.Fatal(err)
	}
	if r != goldenResponse() {
		t.Errorf("parsed %+v", r)
	}
	// number 0 is allowed (and kept) for deny and report.
	for _, p := range []string{
		`{"cid":"000102030405060708090a0b0c0d0e0f","decision":"deny","key_id":"k","number":0,"ts":"2026-03-01T12:00:00Z"}`,
		`{"cid":"000102030405060708090a0b0c0d0e0f","decision":"report","key_id":"k","ts":"2026-03-01T12:00:00Z"}`,
		`{"cid":"000102030405060708090a0b0c0d0e0f","decision":"approve","key_id":"k","ts":"2026-03-01T12:00:00Z"}`,
	} {
		if _, err := ParseResponse([]byte(p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// TestR31NonCanonicalRefused: the signed bytes must be the canonical form
// itself; a device (or anyone in between) cannot reorder members, add
// whitespace or use other escapes and number forms.
func TestR31NonCanonicalRefused(t *testing.T) {
	const (
		cid = `"cid":"000102030405060708090a0b0c0d0e0f"`
		dec = `"decision":"approve"`
		kid = `"key_id":"dev-key-1"`
		num = `"number":42`
		ts  = `"ts":"2026-03-01T12:00:00Z"`
	)
	for name, p := range map[string]string{
		"reordered":         `{` + dec + `,` + cid + `,` + kid + `,` + num + `,` + ts + `}`,
		"space after colon": `{"cid": "000102030405060708090a0b0c0d0e0f",` + dec + `,` + kid + `,` + num + `,` + ts + `}`,
		"space after comma": `{` + cid + `, ` + dec + `,` + kid + `,` + num + `,` + ts + `}`,
		"leading space":     ` ` + goldenPayload,
		"trailing newline":  goldenPayload + "\n",
		"pretty":            "{\n  " + strings.Join([]string{cid, dec, kid, num, ts}, ",\n  ") + "\n}",
		"escaped letter":    `{` + cid + `,"decision":"\u0061pprove",` + kid + `,` + num + `,` + ts + `}`,
		"escaped slash":     `{` + cid + `,` + dec + `,"key_id":"dev\/key",` + num + `,` + ts + `}`,
		"number 42.0":       `{` + cid + `,` + dec + `,` + kid + `,"number":42.0,` + ts + `}`,
		"number 4.2e1":      `{` + cid + `,` + dec + `,` + kid + `,"number":4.2e1,` + ts + `}`,
		"number 042":        `{` + cid + `,` + dec + `,` + kid + `,"number":042,` + ts + `}`,
		"number -0":         `{` + cid + `,"decision":"deny",` + kid + `,"number":-0,` + ts + `}`,
	} {
		_, err := ParseResponse([]byte(p))
		if !errors.Is(err, ErrNotCanonical) && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
}

func TestParseResponseRefusesMalformed(t *testing.T) {
	const (
		cid = `"cid":"000102030405060708090a0b0c0d0e0f"`
		kid = `"key_id":"k"`
		ts  = `"ts":"2026-03-01T12:00:00Z"`
	)
	for name, p := range map[string]string{
		"empty":             ``,
		"array":             `[]`,
		"null":              `null`,
		"empty object":      `{}`,
		"two objects":       `{}{}`,
		"duplicate":         `{` + cid + `,` + cid + `,"decision":"deny",` + kid + `,` + ts + `}`,
		"unknown member":    `{"a":"b",` + cid + `,"decision":"deny",` + kid + `,` + ts + `}`,
		"missing cid":       `{"decision":"deny",` + kid + `,` + ts + `}`,
		"missing ts":        `{` + cid + `,"decision":"deny",` + kid + `}`,
		"missing key_id":    `{` + cid + `,"decision":"deny",` + ts + `}`,
		"missing decision":  `{` + cid + `,` + kid + `,` + ts + `}`,
		"nested":            `{` + cid + `,"decision":{"x":1},` + kid + `,` + ts + `}`,
		"bool":              `{` + cid + `,"decision":true,` + kid + `,` + ts + `}`,
		"number as string":  `{` + cid + `,"decision":"approve",` + kid + `,"number":"42",` + ts + `}`,
		"cid as number":     `{"cid":1,"decision":"deny",` + kid + `,` + ts + `}`,
		"short cid":         `{"cid":"0001","decision":"deny",` + kid + `,` + ts + `}`,
		"upper-case cid":    `{"cid":"000102030405060708090A0B0C0D0E0F","decision":"deny",` + kid + `,` + ts + `}`,
		"unknown decision":  `{` + cid + `,"decision":"maybe",` + kid + `,` + ts + `}`,
		"number on deny":    `{` + cid + `,"decision":"deny",` + kid + `,"number":42,` + ts + `}`,
		"number 100":        `{` + cid + `,"decision":"approve",` + kid + `,"number":100,` + ts + `}`,
		"negative number":   `{` + cid + `,"decision":"approve",` + kid + `,"number":-42,` + ts + `}`,
		"huge number":       `{` + cid + `,"decision":"approve",` + kid + `,"number":123456789012345678901234567890,` + ts + `}`,
		"ts with offset":    `{` + cid + `,"decision":"deny",` + kid + `,"ts":"2026-03-01T13:00:00+01:00"}`,
		"ts with fraction":  `{` + cid + `,"decision":"deny",` + kid + `,"ts":"2026-03-01T12:00:00.5Z"}`,
		"ts lower-case z":   `{` + cid + `,"decision":"deny",` + kid + `,"ts":"2026-03-01T12:00:00z"}`,
		"ts date only":      `{` + cid + `,"decision":"deny",` + kid + `,"ts":"2026-03-01"}`,
		"empty key_id":      `{` + cid + `,"decision":"deny","key_id":"",` + ts + `}`,
		"key_id with space": `{` + cid + `,"decision":"deny","key_id":"a b",` + ts + `}`,
		"too long":          `{` + cid + `,"decision":"deny","key_id":"` + strings.Repeat("k", 600) + `",` + ts + `}`,
		"unterminated":      `{` + cid,
	} {
		if _, err := ParseResponse([]byte(p)); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotCanonical) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

func TestDecodeAnswer(t *testing.T) {
	a := SignedAnswer{Payload: []byte(goldenPayload), Signature: []byte{0x30, 0x01, 0x02}}
	got, err := DecodeAnswer(a.Encode())
	if err != nil || string(got.Payload) != goldenPayload || string(got.Signature) != string(a.Signature) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for name, body := range map[string]string{
		"empty":         ``,
		"unknown field": `{"payload":"eyJ9","sig":"MAE","x":1}`,
		"padded":        `{"payload":"eyJ9","sig":"MAE="}`,
		"std base64":    `{"payload":"e+/9","sig":"MAE"}`,
		"no sig":        `{"payload":"eyJ9"}`,
		"no payload":    `{"sig":"MAE"}`,
		"trailing":      `{"payload":"eyJ9","sig":"MAE"} {}`,
		"too long":      `{"payload":"` + strings.Repeat("A", 3000) + `","sig":"MAE"}`,
	} {
		if _, err := DecodeAnswer([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}
