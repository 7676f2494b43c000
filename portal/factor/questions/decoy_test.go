package questions

import (
	"bytes"
	"slices"
	"testing"
)

var decoyKey = bytes.Repeat([]byte{9}, 32)

var pool = []string{
	"Name of your first pet?", "City where you were born?", "Your first teacher?",
	"Your favourite book?", "Street you grew up on?", "Your first car?",
	"Your best friend at school?", "Your mother's maiden name?",
}

// TestDecoyStable_R1: an unknown account is shown the same questions on
// every attempt (and any capitalisation of the name), so retrying does not
// reveal that it does not exist.
func TestDecoyStable_R1(t *testing.T) {
	a := Decoy(decoyKey, "jdoe", pool, 3)
	if len(a) != 3 {
		t.Fatalf("got %d questions", len(a))
	}
	for _, name := range []string{"jdoe", "JDoe", " JDOE "} {
		if b := Decoy(decoyKey, name, pool, 3); !slices.Equal(a, b) {
			t.Fatalf("Decoy(%q) = %q, want %q", name, b, a)
		}
	}
	seen := map[string]bool{}
	for _, q := range a {
		if seen[q] || !slices.Contains(pool, q) {
			t.Fatalf("questions %q: duplicate or not from the pool", a)
		}
		seen[q] = true
	}
}

// TestDecoyVaries_R1: different names and different keys pick different
// sets; over many names every question of the pool shows up, and first
// positions are not stuck to the pool order.
func TestDecoyVaries_R1(t *testing.T) {
	distinct := map[string]bool{}
	first := map[string]int{}
	for i := range 200 {
		qs := Decoy(decoyKey, "user"+string(rune('a'+i%26))+string(rune('a'+i/26)), pool, 3)
		distinct[qs[0]+"|"+qs[1]+"|"+qs[2]] = true
		first[qs[0]]++
	}
	if len(distinct) < 50 || len(first) != len(pool) {
		t.Fatalf("%d distinct sets, %d distinct first questions", len(distinct), len(first))
	}
	if slices.Equal(Decoy(decoyKey, "jdoe", pool, 3), Decoy(bytes.Repeat([]byte{8}, 32), "jdoe", pool, 3)) &&
		slices.Equal(Decoy(decoyKey, "asmith", pool, 3), Decoy(bytes.Repeat([]byte{8}, 32), "asmith", pool, 3)) {
		t.Fatal("the key does not change the choice")
	}
}

func TestDecoyEdges(t *testing.T) {
	in := slices.Clone(pool)
	all := Decoy(decoyKey, "jdoe", pool, 100)
	if len(all) != len(pool) || !slices.Equal(pool, in) {
		t.Fatalf("n > pool: got %d, pool changed: %v", len(all), !slices.Equal(pool, in))
	}
	if Decoy(decoyKey, "jdoe", pool, 0) != nil || Decoy(decoyKey, "jdoe", nil, 3) != nil {
		t.Fatal("empty case not nil")
	}
	dups := []string{"Your pet?", "your  PET", "Your car?", " ?! "}
	if got := Decoy(decoyKey, "jdoe", dups, 5); len(got) != 2 {
		t.Fatalf("duplicates/empties counted: %q", got)
	}
}
