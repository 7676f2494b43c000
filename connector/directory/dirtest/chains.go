package dirtest

import (
	"sync"
	"testing"
)

// Verdict is what a caller was told about one password change.
type Verdict int

// The verdicts a change can get.
const (
	Applied    Verdict = iota // the change happened
	NotApplied                // it certainly did not happen (offline, expired before delivery): try again
	Other                     // anything else: the chaos test fails
)

// Chains is the proof of exactly-once password changes against the DC: for
// each user, perUser changes chained old → new (so a lost change makes the next
// one fail and a repeated one is visible), run concurrently across users by
// change. Afterwards, for every user, the DC's own count of unicodePwd writes
// (PasswordWrites) must equal the changes answered Applied, and the last
// password answered Applied must bind. It returns the number applied and the
// number answered NotApplied (and retried).
func (e SambaEnv) Chains(t testing.TB, users []User, perUser int, change func(u User, oldPW, newPW string) (Verdict, string)) (applied, retried int) {
	t.Helper()
	type chain struct {
		u             User
		before        uint32
		cur           string
		done, notDone int
		bad           []string
	}
	chains := make([]*chain, len(users))
	for i, u := range users {
		chains[i] = &chain{u: u, before: e.PasswordWrites(t, u.DN), cur: u.Password}
	}
	var wg sync.WaitGroup
	for _, c := range chains {
		wg.Go(func() {
			for attempt := 0; c.done < perUser && attempt < 5*perUser; attempt++ {
				next := RandomPassword()
				switch v, what := change(c.u, c.cur, next); v {
				case Applied:
					c.done++
					c.cur = next
				case NotApplied:
					c.notDone++
				default:
					c.bad = append(c.bad, what)
				}
			}
		})
	}
	wg.Wait()
	for _, c := range chains {
		if len(c.bad) > 0 {
			t.Errorf("%s: answers that are neither applied nor certainly not applied: %v", c.u.Login, c.bad)
		}
		if writes := e.PasswordWrites(t, c.u.DN) - c.before; int(writes) != c.done {
			t.Errorf("%s: %d changes answered applied, the DC wrote the password %d times", c.u.Login, c.done, writes)
		}
		if err := e.Bind(c.u.DN, c.cur); err != nil {
			t.Errorf("%s: bind with the last password answered applied: %v", c.u.Login, err)
		}
		applied += c.done
		retried += c.notDone
	}
	return applied, retried
}
