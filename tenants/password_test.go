package tenants

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func codes(vs []PasswordViolation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Code)
	}
	return out
}

// TestPasswordCheck is the R11 table: lengths count Unicode code points, long
// passphrases and emoji are accepted, nothing is truncated.
func TestPasswordCheck(t *testing.T) {
	pp := PasswordPolicy{MinLength: 12, RequiredClasses: 3, BannedWords: []string{"Latchkey", " "}, History: 12}
	ctx := []string{"ann.lee@acme.com", "Ann Lee", "al", "Acme Corp"}
	emoji := "🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑🔑" // 12 code points, 48 bytes
	tests := []struct {
		name string
		pw   string
		want []string
	}{
		{"good", "Correct-Horse-7", nil},
		{"too short", "Sh0rt!x", []string{PasswordTooShort}},
		{"11 runes is short", "Abcdefgh1!x", []string{PasswordTooShort}},
		{"12 runes is enough", "Abcdefgh1!xy", nil},
		{"R11 64-char passphrase", strings.Repeat("Tr0ub4dor&3x", 5) + "Zz9!", nil},
		{"R11 256 code points accepted", "A1" + strings.Repeat("b", 254), nil},
		{"R11 257 code points too long", "A1" + strings.Repeat("b", 255), []string{PasswordTooLong}},
		{"R11 257 multi-byte code points too long, never truncated", "A1" + strings.Repeat("ß", 255), []string{PasswordTooLong}},
		{"R11 emoji count as code points not bytes", "Aa" + emoji[:4*9], []string{PasswordTooShort}},
		{"R11 emoji passphrase", "Aa" + emoji, nil},
		{"R11 emoji alone: only one class", emoji, []string{PasswordClasses}},
		{"umlauts are letters with case", "Größenwahn123", nil},
		{"caseless script counts as other", "日本語のパスワードabc1", nil},
		{"two classes", "alllowercase123", []string{PasswordClasses}},
		{"banned word, any case", "myLATCHKEY-2024", []string{PasswordBannedWord}},
		{"context word part", "Sunny-Acme-2024", []string{PasswordContextWord}},
		{"context local part", "x-LEE-y-Zebra-9", []string{PasswordContextWord}},
		{"whole context word", "Ann.Lee@acme.com!", []string{PasswordContextWord}},
		{"short context words ignored", "Alpaca-Hills-9", nil},
		{"control character", "Correct-Horse-7\n", []string{PasswordInvalidChars}},
		{"invalid utf-8", "Correct-Horse-7\xff", []string{PasswordInvalidChars}},
		{"everything at once", "ann", []string{PasswordTooShort, PasswordClasses, PasswordContextWord}},
		{"empty", "", []string{PasswordTooShort, PasswordClasses}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := codes(pp.Check(tt.pw, ctx))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check(%q) = %v, want %v", tt.pw, got, tt.want)
			}
		})
	}
	if n := utf8.RuneCountInString(emoji); n != 12 {
		t.Fatalf("test data: emoji has %d runes", n)
	}
}

func TestPasswordCheckLimits(t *testing.T) {
	pp := PasswordPolicy{MinLength: 15}
	v := pp.Check("short", nil)
	if len(v) != 1 || v[0] != (PasswordViolation{Code: PasswordTooShort, Limit: 15}) {
		t.Errorf("got %+v", v)
	}
	v = pp.Check(strings.Repeat("x", 300), nil)
	if len(v) != 1 || v[0] != (PasswordViolation{Code: PasswordTooLong, Limit: 256}) {
		t.Errorf("got %+v", v)
	}
	// R11: the floor is 8 even when a policy says less.
	weak := PasswordPolicy{MinLength: 4}
	if got := codes(weak.Check("1234567", nil)); !reflect.DeepEqual(got, []string{PasswordTooShort}) {
		t.Errorf("7 characters accepted under a 4-character policy: %v", got)
	}
	if got := weak.Check("12345678", nil); got != nil {
		t.Errorf("got %v", got)
	}
}

func TestPasswordRules(t *testing.T) {
	got := DefaultPolicy().Password.Rules()
	want := []PasswordRule{
		{Code: PasswordMinLength, Value: 12},
		{Code: PasswordMaxLength, Value: 256},
		{Code: PasswordClasses, Value: 3},
		{Code: PasswordBannedWord},
		{Code: PasswordContextWord, Value: 3},
		{Code: PasswordHistory, Value: 12},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Rules() = %+v\nwant %+v", got, want)
	}
	bare := PasswordPolicy{}.Rules()
	want = []PasswordRule{{Code: PasswordMinLength, Value: 8}, {Code: PasswordMaxLength, Value: 256}, {Code: PasswordContextWord, Value: 3}}
	if !reflect.DeepEqual(bare, want) {
		t.Errorf("zero policy Rules() = %+v", bare)
	}
}

// FuzzPasswordCheck: user input; never panics, and a password that passes has
// 8–256 code points and is valid UTF-8.
func FuzzPasswordCheck(f *testing.F) {
	for _, s := range []string{"Correct-Horse-7", "🔑🔑🔑", "\xff\xfe", "ann.lee", strings.Repeat("a", 300)} {
		f.Add(s, "Ann Lee")
	}
	pp := PasswordPolicy{MinLength: 8, RequiredClasses: 2, BannedWords: []string{"acme"}}
	f.Fuzz(func(t *testing.T, pw, context string) {
		v := pp.Check(pw, []string{context})
		if v == nil {
			n := utf8.RuneCountInString(pw)
			if n < 8 || n > 256 || !utf8.ValidString(pw) {
				t.Fatalf("Check(%q) passed", pw)
			}
		}
	})
}
