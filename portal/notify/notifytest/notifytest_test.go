package notifytest_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/latchkey/latchkey/portal/notify/notifytest"
)

const rawMail = "From: a@x.test\r\nTo: b@x.test\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"Message-ID: <m1@latchkey>\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=BB\r\n\r\n" +
	"--BB\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
	"SGVsbG8s\r\nIHdvcmxk\r\n" +
	"--BB\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"<p>Hello, w=\r\norld</p>\r\n--BB--\r\n"

func dial(t *testing.T, sink *notifytest.SMTPSink) *smtp.Client {
	t.Helper()
	c, err := smtp.DialStartTLS(sink.Addr(), &tls.Config{RootCAs: sink.CertPool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSMTPSinkParsesAndRequiresAuth(t *testing.T) {
	sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{Username: "u", Password: "p"})
	c := dial(t, sink)
	if err := c.SendMail("a@x.test", []string{"b@x.test"}, strings.NewReader(rawMail)); err == nil {
		t.Fatal("accepted mail without AUTH")
	}
	if err := c.Auth(sasl.NewPlainClient("", "u", "wrong")); err == nil {
		t.Fatal("accepted a wrong password")
	}
	if err := c.Auth(sasl.NewPlainClient("", "u", "p")); err != nil {
		t.Fatalf("Auth: %v", err)
	}
	if err := c.SendMail("a@x.test", []string{"b@x.test"}, strings.NewReader(rawMail)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	m, err := sink.WaitFor(t.Context(), func(m notifytest.Msg) bool { return m.MessageID == "<m1@latchkey>" })
	if err != nil {
		t.Fatal(err)
	}
	if m.ParseErr != nil || m.Subject != "Grüße" || m.Text != "Hello, world" || m.HTML != "<p>Hello, world</p>" ||
		!m.TLS || m.User != "u" || m.From != "a@x.test" || len(m.To) != 1 || m.To[0] != "b@x.test" {
		t.Fatalf("parsed %+v", m)
	}
}

func TestSMTPSinkFailNext(t *testing.T) {
	sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{})
	c := dial(t, sink)
	var se *smtp.SMTPError
	sink.FailNext(1, 554)
	if err := c.SendMail("a@x.test", []string{"b@x.test"}, strings.NewReader(rawMail)); !errors.As(err, &se) || se.Code != 554 {
		t.Fatalf("554: %v", err)
	}
	sink.FailNext(1, 451)
	if err := c.SendMail("a@x.test", []string{"b@x.test"}, strings.NewReader(rawMail)); !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("451: %v", err)
	}
	if err := c.SendMail("a@x.test", []string{"b@x.test"}, strings.NewReader(rawMail)); err != nil {
		t.Fatalf("after the failures: %v", err)
	}
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("%d messages recorded, want only the accepted one", n)
	}
}

func TestWaitForEndsWithContext(t *testing.T) {
	sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := sink.WaitFor(ctx, func(notifytest.Msg) bool { return true }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}
