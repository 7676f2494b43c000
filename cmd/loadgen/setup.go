package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/cmd/loadgen/internal/codebox"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/mailsink"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/portal"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/samba"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/smssink"
	"github.com/latchkey/latchkey/portal/phone"
)

// benchUser is a directory user and what the flows know of it. mu
// serialises what changes its password (a reset, a raw replace).
type benchUser struct {
	mu       sync.Mutex
	u        samba.User
	answers  map[string]string // by question; the same in every tenant
	ordered  []string          // the answers in the order they are enrolled
	password string            // the last one set
	codes    map[int]int       // codes each tenant (by index) sent the user this run
	texted   map[int]time.Time // when each tenant last texted the user a code
}

// smsGap keeps two texts of one tenant to one number apart: a tenant texts
// a number at most once in a 30-second window (R24) and drops the rest
// silently.
const smsGap = 45 * time.Second

// maxCodes is how many codes a tenant sends one account an hour (the flow
// engine's MaxSends, R3); more are silently not sent.
const maxCodes = 5

// reserveCodes picks the first tenant, from index from (mod tenants) on,
// that can still send the user need codes (and, with sms, text it at now),
// counts them, and returns its index; -1 when none can.
func (b *benchUser) reserveCodes(from, tenants, need int, sms bool, now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	for j := range tenants {
		t := (from + j) % tenants
		if b.codes[t]+need > maxCodes {
			continue
		}
		if last, ok := b.texted[t]; sms && ok && now.Sub(last) < smsGap {
			continue
		}
		b.codes[t] += need
		if sms {
			b.texted[t] = now
		}
		return t
	}
	return -1
}

func (b *benchUser) account() portal.Account {
	return portal.Account{Login: b.u.Login, Mail: b.u.Mail, Mobile: b.u.Mobile, Password: b.password, Answers: b.answers}
}

// randomMobile is a US mobile number that libphonenumber accepts, different
// for every user (a tenant rate-limits SMS per number). Nothing is ever sent
// to it: the node's SMS go to the driver's webhook sink.
func randomMobile() string {
	for range 50 {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		n := fmt.Sprintf("+1415%07d", (uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]))%10_000_000)
		if p, err := phone.Parse(n, ""); err == nil && p.E164 == n {
			return n
		}
	}
	return ""
}

// ipSource hands out client addresses from 198.18.0.0/15, the range set
// aside for benchmarks (RFC 2544). They are only written in
// X-Forwarded-For; nothing is ever sent to them.
type ipSource struct{ n atomic.Uint32 }

func (s *ipSource) next() string {
	n := s.n.Add(1) % (1 << 17)
	base := netip.MustParseAddr("198.18.0.0").As4()
	v := uint32(base[0])<<24 | uint32(base[1])<<16 | n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// setup starts the SMTP sink, makes (or loads) the users and enrols their
// questions in every tenant. cleanup deletes the users it made.
func setup(ctx context.Context, cfg config, log *slog.Logger) (r *rig, cleanup func(), err error) {
	box := codebox.New(nil)
	mail, err := mailsink.Start(cfg.SMTPListen, box)
	if err != nil {
		return nil, func() {}, err
	}
	r = &rig{cfg: cfg, log: log, client: portal.NewClient(cfg.Addr, cfg.MaxInFlight), box: box, mail: mail}
	var made []samba.User
	cleanup = func() {
		_ = mail.Close()
		if r.sms != nil {
			_ = r.sms.Close()
		}
		if len(made) > 0 && !cfg.KeepUsers {
			n, err := cfg.Samba.DeleteByPrefix(userPrefix)
			log.Info("deleted the benchmark users", "deleted", n, "err", err)
		}
	}
	if cfg.SMSListen != "" {
		key, err := os.ReadFile(cfg.SMSKeyFile)
		if err != nil {
			return r, cleanup, fmt.Errorf("--sms-key-file: %w", err)
		}
		if r.sms, err = smssink.Start(cfg.SMSListen, []byte(strings.TrimRight(string(key), "\r\n")), box); err != nil {
			return r, cleanup, err
		}
	}
	var users []samba.User
	if cfg.UsersFile != "" {
		b, err := os.ReadFile(cfg.UsersFile)
		if err != nil {
			return r, cleanup, fmt.Errorf("--users-file: %w", err)
		}
		if err := json.Unmarshal(b, &users); err != nil || len(users) == 0 {
			return r, cleanup, fmt.Errorf("--users-file %s: want a JSON list of {login,dn,mail,password}: %v", cfg.UsersFile, err)
		}
	} else {
		if n, err := cfg.Samba.DeleteByPrefix(userPrefix); err != nil {
			return r, cleanup, err
		} else if n > 0 {
			log.Info("deleted benchmark users left by an earlier run", "users", n)
		}
		t0 := time.Now()
		made, err = cfg.Samba.CreateUsers(ctx, userPrefix, cfg.Users, cfg.SetupPar, randomMobile)
		if err != nil {
			return r, cleanup, err
		}
		users = made
		log.Info("created users", "users", len(users), "took", time.Since(t0).Round(time.Millisecond))
	}
	for _, u := range users {
		r.users = append(r.users, &benchUser{u: u, password: u.Password, answers: map[string]string{}, codes: map[int]int{}, texted: map[int]time.Time{}})
	}
	t0 := time.Now()
	if err := r.enrolAll(ctx); err != nil {
		return r, cleanup, err
	}
	log.Info("enrolled security questions", "users", len(r.users), "tenants", len(cfg.Tenants), "took", time.Since(t0).Round(time.Millisecond))
	return r, cleanup, nil
}

// enrolAll enrols every user in every tenant, SetupPar at a time. The first
// enrolment waits for the connectors: the node answers "directory
// unavailable" until one is connected.
func (r *rig) enrolAll(ctx context.Context) error {
	for _, u := range r.users {
		for i := range 3 {
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			u.ordered = append(u.ordered, fmt.Sprintf("answer %s %d", hex.EncodeToString(b), i))
		}
	}
	type job struct {
		u *benchUser
		t tenantRef
	}
	for _, u := range r.users {
		for i := range r.cfg.Tenants {
			u.codes[i] = 1 // the sign-in code of the enrolment
		}
	}
	for _, t := range r.cfg.Tenants {
		if err := r.enrolOne(ctx, r.users[0], t, 30*time.Second); err != nil {
			return err
		}
	}
	jobs := make(chan job)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range r.cfg.SetupPar {
		wg.Go(func() {
			for j := range jobs {
				if err := r.enrolOne(ctx, j.u, j.t, 0); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, t := range r.cfg.Tenants {
		for _, u := range r.users[1:] {
			jobs <- job{u, t}
		}
	}
	close(jobs)
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("enrol %d of %d: %w", len(errs), len(r.users)*len(r.cfg.Tenants), errs[0])
	}
	return nil
}

// enrolOne enrols u in t, retrying for up to wait while the directory is
// unavailable (no connector yet).
func (r *rig) enrolOne(ctx context.Context, u *benchUser, t tenantRef, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		fctx, cancel := context.WithTimeout(ctx, r.cfg.FlowTimeout)
		got, err := r.visitor(t).Enroll(fctx, u.account(), r.codes(t)["email"], u.ordered)
		cancel()
		if err == nil {
			u.mu.Lock()
			for q, a := range got {
				u.answers[q] = a
			}
			u.mu.Unlock()
			return nil
		}
		var se *portal.StepError
		if !errors.As(err, &se) || se.Got.Status != 503 || time.Now().After(deadline) {
			return fmt.Errorf("enrol %s in %s: %w", u.u.Login, t.Slug, err)
		}
		r.log.Info("directory unavailable: waiting for the connector", "tenant", t.Slug)
		time.Sleep(time.Second)
	}
}
