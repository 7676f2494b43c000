package codebox

import (
	"context"
	"testing"
	"time"
)

func TestTakeHandsOutEachCodeOnceByRecipientAndLabel(t *testing.T) {
	b := New(nil)
	before := time.Now()
	b.Put([]string{"Ann@corp.example.com"}, "Your Bench1 verification code", "111111")
	b.Put([]string{"ann@corp.example.com"}, "Your Bench2 verification code", "222222")
	b.Put([]string{"bob@corp.example.com"}, "Your Bench1 verification code", "333333")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range []struct{ to, label, want string }{
		{"ann@corp.example.com", "Bench2", "222222"},
		{"ANN@corp.example.com", "Bench1", "111111"},
		{"bob@corp.example.com", "Bench1", "333333"},
	} {
		if got, err := b.Take(ctx, c.to, c.label, before); err != nil || got != c.want {
			t.Fatalf("%s/%s: %q %v, want %s", c.to, c.label, got, err, c.want)
		}
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if got, err := b.Take(short, "ann@corp.example.com", "Bench1", before); err == nil {
		t.Fatalf("code %q handed out twice", got)
	}
	got := make(chan string, 1)
	go func() { c, _ := b.Take(ctx, "ann@corp.example.com", "Bench1", before); got <- c }()
	b.Put([]string{"ann@corp.example.com"}, "Your Bench1 verification code", "444444")
	if c := <-got; c != "444444" {
		t.Fatalf("the waiter got %q", c)
	}
}

func TestTakeSkipsAndDropsCodesOfEarlierAttempts(t *testing.T) {
	t0 := time.Unix(1000, 0)
	now := t0
	b := New(func() time.Time { return now })
	b.Put([]string{"ann@x"}, "Bench1", "111111") // at t0
	now = t0.Add(2 * time.Second)
	b.Put([]string{"ann@x"}, "Bench1", "222222")
	b.Put([]string{"ann@x"}, "Bench1", "333333")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if got, err := b.Take(ctx, "ann@x", "Bench1", t0.Add(time.Second)); err != nil || got != "222222" {
		t.Fatalf("%q %v, want the first code after the attempt", got, err)
	}
	if got, err := b.Take(ctx, "ann@x", "Bench1", t0); err != nil || got != "333333" {
		t.Fatalf("%q %v: the code of t0 should have been dropped", got, err)
	}
}
