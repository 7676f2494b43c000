package totpcodes

import (
	"encoding/base32"
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

func b32(s string) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte(s))
}

// RFC 6238 appendix B.
func TestRFC6238Vectors_R26(t *testing.T) {
	seeds := map[string]string{
		"SHA1":   b32("12345678901234567890"),
		"SHA256": b32("12345678901234567890123456789012"),
		"SHA512": b32("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	for _, v := range []struct {
		unix int64
		alg  string
		code string
	}{
		{59, "SHA1", "94287082"}, {59, "SHA256", "46119246"}, {59, "SHA512", "90693936"},
		{1111111109, "SHA1", "07081804"}, {1111111109, "SHA256", "68084774"}, {1111111109, "SHA512", "25091201"},
		{1234567890, "SHA1", "89005924"}, {2000000000, "SHA256", "90698825"}, {20000000000, "SHA512", "47863826"},
	} {
		e, err := ParseURI("otpauth://totp/RFC:test?secret="+seeds[v.alg]+"&algorithm="+v.alg+"&digits=8&period=30", "")
		if err != nil {
			t.Fatal(err)
		}
		code, _, err := e.Code(time.Unix(v.unix, 0))
		if err != nil || code != v.code {
			t.Errorf("%s at %d: %q, %v; want %s", v.alg, v.unix, code, err, v.code)
		}
	}
}

func TestCodeMatchesPquernaForAKnownSeedAndTime(t *testing.T) {
	const seed = "JBSWY3DPEHPK3PXP"
	at := time.Date(2026, 12, 2, 10, 0, 7, 0, time.UTC)
	e, err := ParseURI("otpauth://totp/Acme:ann?secret="+seed+"&issuer=Acme", "")
	if err != nil {
		t.Fatal(err)
	}
	if e.Label != "Acme (ann)" || e.Issuer != "Acme" || e.Account != "ann" || e.Digits != 6 || e.Period != 30 || e.Algorithm != "SHA1" {
		t.Fatalf("entry %+v", e)
	}
	want, err := totp.GenerateCode(seed, at)
	if err != nil {
		t.Fatal(err)
	}
	code, left, err := e.Code(at)
	if err != nil || code != want {
		t.Fatalf("code %q, %v; pquerna says %q", code, err, want)
	}
	if left != 23*time.Second {
		t.Errorf("left %v at :07, want 23s", left)
	}
	if ok, _ := totp.ValidateCustom(code, seed, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}); !ok {
		t.Error("pquerna does not validate the code")
	}
}

func TestParseURIRefuses(t *testing.T) {
	for name, uri := range map[string]string{
		"hotp":          "otpauth://hotp/Acme:ann?secret=JBSWY3DPEHPK3PXP&counter=1",
		"scheme":        "https://totp/Acme:ann?secret=JBSWY3DPEHPK3PXP",
		"no secret":     "otpauth://totp/Acme:ann",
		"bad secret":    "otpauth://totp/Acme:ann?secret=!!!!",
		"md5":           "otpauth://totp/Acme:ann?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
		"unknown alg":   "otpauth://totp/Acme:ann?secret=JBSWY3DPEHPK3PXP&algorithm=SHA3",
		"7 digits":      "otpauth://totp/Acme:ann?secret=JBSWY3DPEHPK3PXP&digits=7",
		"period 0":      "otpauth://totp/Acme:ann?secret=JBSWY3DPEHPK3PXP&period=0",
		"period 1 hour": "otpauth://totp/Acme:ann?secret=JBSWY3DPEHPK3PXP&period=3600",
	} {
		if _, err := ParseURI(uri, ""); !errors.Is(err, ErrBadURI) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLabel(t *testing.T) {
	e, err := ParseURI("otpauth://totp/ann?secret=jbswy3dpehpk3pxp", " work ")
	if err != nil || e.Label != "work" || e.Secret != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("%+v %v", e, err)
	}
}

func FuzzParseURI(f *testing.F) {
	f.Add("otpauth://totp/Acme:ann?secret=JBSWY3DPEHPK3PXP&issuer=Acme&digits=8&period=60&algorithm=SHA256")
	f.Add("otpauth://totp/?secret=")
	f.Fuzz(func(t *testing.T, uri string) {
		e, err := ParseURI(uri, "")
		if err != nil {
			if !errors.Is(err, ErrBadURI) {
				t.Fatalf("error %v does not wrap ErrBadURI", err)
			}
			return
		}
		code, left, err := e.Code(time.Unix(1_800_000_000, 0))
		if err != nil || len(code) != e.Digits || left <= 0 || left > time.Duration(e.Period)*time.Second {
			t.Fatalf("accepted %q but Code = %q, %v, %v", uri, code, left, err)
		}
	})
}
