package smssink

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/loadgen/internal/codebox"
	"github.com/latchkey/latchkey/portal/notify"
)

func TestSignedCodesReachTheBoxAndUnsignedOnesAreRejected(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	box := codebox.New(nil)
	s, err := Start("127.0.0.1:0", key, box)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	before := time.Now()
	good := &notify.WebhookSender{URL: s.URL(), Key: key}
	if err := good.SendSMS(ctx, "t1", "+14155550123", "482913 is your Bench1 verification code. Valid for 10 min. Never share it."); err != nil {
		t.Fatal(err)
	}
	if err := good.SendSMS(ctx, "t1", "+14155550123", "Your Bench1 password was reset."); err != nil {
		t.Fatal(err)
	}
	forged := &notify.WebhookSender{URL: s.URL(), Key: []byte("another key, not the shared one!")}
	if err := forged.SendSMS(ctx, "t1", "+14155550123", "999999 is your Bench1 verification code."); err == nil {
		t.Fatal("a request signed with another key was accepted")
	}
	if c, err := box.Take(ctx, "+14155550123", "Bench1", before); err != nil || c != "482913" {
		t.Fatalf("%q %v", c, err)
	}
	if others, rejected := s.Counts(); others != 1 || rejected != 1 {
		t.Fatalf("others %d, rejected %d", others, rejected)
	}
}

func FuzzCode(f *testing.F) {
	f.Add("482913 is your Bench1 verification code.")
	f.Add(" is your ")
	f.Fuzz(func(t *testing.T, text string) {
		c := Code(text)
		for _, r := range c {
			if r < '0' || r > '9' {
				t.Fatalf("code %q from %q", c, text)
			}
		}
	})
}
