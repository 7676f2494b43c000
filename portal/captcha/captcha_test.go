package captcha

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image/png"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/portal/factor/otp"
)

var key = bytes.Repeat([]byte{3}, 32)

const binding = "t1|flow-abc|captcha"

// TestCheck_R3: the right digits check for their own flow only, wrong ones
// and another flow's binding do not (R7), and the MAC holds no digits.
func TestCheck_R3(t *testing.T) {
	c := Captcha{Key: key}
	digits, mac, err := c.New(binding)
	if err != nil {
		t.Fatal(err)
	}
	if len(digits) != DefaultLength || strings.Trim(digits, "0123456789") != "" {
		t.Fatalf("digits %q", digits)
	}
	if !c.Check(binding, digits, mac) {
		t.Fatal("right answer rejected")
	}
	if !c.Check(binding, " "+digits[:3]+" "+digits[3:], mac) {
		t.Fatal("answer with a space rejected")
	}
	wrong := []byte(digits)
	wrong[5] = '0' + (wrong[5]-'0'+1)%10
	if c.Check(binding, string(wrong), mac) {
		t.Fatal("wrong answer accepted")
	}
	if c.Check("t1|flow-other|captcha", digits, mac) || c.Check("t2|flow-abc|captcha", digits, mac) {
		t.Fatal("answer accepted for another binding (R7)")
	}
	if bytes.Contains(mac, []byte(digits)) {
		t.Fatal("mac contains the digits")
	}
}

// TestNotAnOTP_R7: a captcha and a one-time code made with the same key and
// binding are not interchangeable.
func TestNotAnOTP_R7(t *testing.T) {
	codes := otp.Codes{Key: key}
	code, otpMAC, err := codes.New(binding)
	if err != nil {
		t.Fatal(err)
	}
	if (Captcha{Key: key}).Check(binding, code, otpMAC) {
		t.Fatal("an OTP checked as a captcha")
	}
	digits, capMAC, err := Captcha{Key: key}.New(binding)
	if err != nil {
		t.Fatal(err)
	}
	if codes.Check(binding, digits, capMAC) {
		t.Fatal("a captcha checked as an OTP")
	}
}

func TestLengthAndConfig(t *testing.T) {
	d, _, err := Captcha{Key: key, Length: 8}.New(binding)
	if err != nil || len(d) != 8 {
		t.Fatalf("Length 8: %q, %v", d, err)
	}
	if _, _, err := (Captcha{Key: key, Length: 4}).New(binding); !errors.Is(err, otp.ErrBadDigits) {
		t.Fatalf("Length 4: %v", err)
	}
	if _, _, err := (Captcha{Key: key[:8]}).New(binding); !errors.Is(err, otp.ErrShortKey) {
		t.Fatalf("short key: %v", err)
	}
	// Digits come from the injected reader.
	d, _, err = Captcha{Key: key, Rand: bytes.NewReader([]byte{9, 8, 7, 6, 5, 4, 0, 0})}.New(binding)
	if err != nil || d != "987654" {
		t.Fatalf("injected Rand: %q, %v", d, err)
	}
}

// TestPNGSize: the picture is a PNG of the requested size, for the
// standard size and the corners of the allowed range.
func TestPNGSize(t *testing.T) {
	for _, sz := range [][2]int{{StdWidth, StdHeight}, {MinWidth, MinHeight}, {MaxWidth, MaxHeight}, {MinWidth, MaxHeight}, {MaxWidth, MinHeight}} {
		for _, digits := range []string{"0", "123456", "9876543210"} {
			b, err := PNG(digits, sz[0], sz[1])
			if err != nil {
				t.Fatalf("%v %q: %v", sz, digits, err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%v %q: not a PNG: %v", sz, digits, err)
			}
			if r := img.Bounds(); r.Dx() != sz[0] || r.Dy() != sz[1] {
				t.Fatalf("%v %q: got %v", sz, digits, r)
			}
		}
	}
	a, _ := PNG("123456", StdWidth, StdHeight)
	b, _ := PNG("123456", StdWidth, StdHeight)
	c, _ := PNG("123457", StdWidth, StdHeight)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatal("same digits should draw the same picture, other digits another")
	}
}

func TestBadInput(t *testing.T) {
	for _, d := range []string{"", "12a456", "１２３", "12345678901", "-1"} {
		if _, err := PNG(d, StdWidth, StdHeight); !errors.Is(err, ErrBadDigits) {
			t.Errorf("PNG(%q): %v", d, err)
		}
		if _, err := WAV(d, "en"); !errors.Is(err, ErrBadDigits) {
			t.Errorf("WAV(%q): %v", d, err)
		}
	}
	for _, sz := range [][2]int{{0, 0}, {MinWidth - 1, StdHeight}, {MaxWidth + 1, StdHeight}, {StdWidth, MinHeight - 1}, {StdWidth, MaxHeight + 1}, {-240, -80}} {
		if _, err := PNG("123456", sz[0], sz[1]); err == nil {
			t.Errorf("PNG size %v accepted", sz)
		}
	}
}

// TestWAV: the audio alternative is a RIFF/WAVE file of 8 kHz mono 8-bit
// PCM, spoken in the chosen language.
func TestWAV(t *testing.T) {
	en, err := WAV("123456", "en")
	if err != nil {
		t.Fatal(err)
	}
	if len(en) < 44 || string(en[0:4]) != "RIFF" || string(en[8:12]) != "WAVE" || string(en[12:16]) != "fmt " {
		t.Fatalf("not a WAV header: %q", en[:min(16, len(en))])
	}
	if got := binary.LittleEndian.Uint32(en[4:8]); int(got) != len(en)-8 {
		t.Fatalf("RIFF size %d, file %d bytes", got, len(en))
	}
	channels := binary.LittleEndian.Uint16(en[22:24])
	rate := binary.LittleEndian.Uint32(en[24:28])
	bits := binary.LittleEndian.Uint16(en[34:36])
	if channels != 1 || rate != 8000 || bits != 8 {
		t.Fatalf("format %d ch, %d Hz, %d bit", channels, rate, bits)
	}
	ru, err := WAV("123456", "ru-RU")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(en, ru) {
		t.Fatal("Russian audio equals English")
	}
	xx, err := WAV("123456", "xx")
	if err != nil || !bytes.Equal(en, xx) {
		t.Fatal("an unknown language should fall back to English")
	}
}

func TestAudioLanguage(t *testing.T) {
	for in, want := range map[string]string{
		"en": "en", "EN-us": "en", "pt-BR": "pt", "ja_JP": "ja", "zh-Hant-TW": "zh", "ru": "ru",
		"de-CH": "en", "": "en", "japanese": "en",
	} {
		if got := AudioLanguage(in); got != want {
			t.Errorf("AudioLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzCheck(f *testing.F) {
	c := Captcha{Key: key}
	digits, mac, err := c.New(binding)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{digits, "", "000000", "12 34 56", "１２３４５６", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if c.Check(binding, in, mac) {
			if n, ok := otp.Normalize(in, DefaultLength); !ok || n != digits {
				t.Fatalf("accepted %q for %q", in, digits)
			}
		}
	})
}
