package mailsink

import (
	"context"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/loadgen/internal/codebox"
)

// A message shaped like the control plane's (go-mail): multipart/alternative,
// quoted-printable text with a soft line break inside the sentence.
const sample = "From: loadgen@example.com\r\n" +
	"To: lgen0a1b2c3d4e@corp.example.com\r\n" +
	"Subject: =?UTF-8?q?Your_Bench1_verification_code?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Hello,\r\n\r\nYour verification code =\r\nis: 482913\r\n\r\nNever share it.\r\n" +
	"--b1\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"\r\n" +
	"<p>Your verification code is:</p><p>000000</p>\r\n" +
	"--b1--\r\n"

func TestParseReadsTheCodeFromTheTextPart(t *testing.T) {
	m, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Your Bench1 verification code" {
		t.Errorf("subject %q", m.Subject)
	}
	if got := m.Code(); got != "482913" {
		t.Errorf("code %q, want 482913 (text %q)", got, m.Text)
	}
}

func TestParseOfAMessageWithoutACode(t *testing.T) {
	m, err := Parse([]byte("Subject: Your Bench1 password was reset\r\n\r\nDone.\r\n"))
	if err != nil || m.Code() != "" {
		t.Fatalf("%+v, %v", m, err)
	}
	if _, err := Parse([]byte("no header separator")); err == nil {
		t.Fatal("no error for a message without headers")
	}
}

func TestDeliveredCodesReachTheBox(t *testing.T) {
	box := codebox.New(nil)
	s, err := Start("127.0.0.1:0", box)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := time.Now()
	if err := smtp.SendMail(s.Addr(), nil, "loadgen@example.com", []string{"Ann@corp.example.com"}, []byte(sample)); err != nil {
		t.Fatal(err)
	}
	reset := "Subject: Your Bench1 password was reset\r\n\r\nDone.\r\n"
	if err := smtp.SendMail(s.Addr(), nil, "loadgen@example.com", []string{"ann@corp.example.com"}, []byte(reset)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, err := box.Take(ctx, "ann@corp.example.com", "Bench1", before); err != nil || c != "482913" {
		t.Fatalf("%q %v", c, err)
	}
	if others, bad := s.Counts(); others != 1 || bad != 0 {
		t.Fatalf("others %d, unreadable %d", others, bad)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("Subject: x\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\nYour verification code is: 1234\r\n--z--"))
	f.Add([]byte("Content-Transfer-Encoding: base64\r\n\r\nWW91ciB2ZXJpZmljYXRpb24gY29kZSBpczogOTk5OQ==\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw)
		if err != nil {
			return
		}
		if c := m.Code(); c != "" && strings.Trim(c, "0123456789") != "" {
			t.Fatalf("code %q is not digits", c)
		}
	})
}
