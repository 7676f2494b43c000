// Package demodir is an in-memory directory.Directory with Active
// Directory-like rules, used ONLY by `latchkey demo` and by unit tests. It is
// never used by a real connector: cmd/latchkey-connector does not import it,
// and it holds no real accounts.
//
// What it imitates, with the same directory.Codes the AD dialect returns:
//
//   - Password policy (domain policy by default): minimum length 8, complexity
//     (3 of 4 classes: upper case, lower case, digits, others; and not the
//     sAMAccountName nor a 3+ character part of the display name), history 5
//     (enforced on change, and on reset because the directory advertises the
//     policy-hints control), lockout after 5 bad passwords counted within 15
//     minutes, for 15 minutes.
//   - VerifyPassword as an AD bind: Locked, Disabled and AccountExpired
//     whatever the password; a wrong password is InvalidCredentials and counts
//     towards the lockout; MustChange and Expired only for the right
//     password; a good bind clears the bad-password count.
//   - Change as AD's delete-old/add-new: a wrong current password is
//     WrongPassword and counts as a bad password; it works when the user must
//     change; it fails with Locked while locked out.
//   - Reset, Unlock (lockoutTime=0 also clears badPwdCount), ForceChange
//     (pwdLastSet=0), Status and Policy computed from the stored state and the
//     injected clock, so lockouts lapse by themselves.
//
// Passwords are kept only as salted SHA-256 hashes. A Dir is safe for
// concurrent use.
package demodir

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/connector/directory"
)

// DefaultPassword is the password of every seeded user (it satisfies the
// default policy).
const DefaultPassword = "Demo-pass-2026"

// Windows codes the AD dialect sees, kept on the errors for realism.
const (
	winBindFailed          = 0x80090308 // SEC_E_INVALID_TOKEN: every bind failure, with "data NNN"
	winPasswordRestriction = 0x0000052D // ERROR_PASSWORD_RESTRICTION
	winInvalidPassword     = 0x00000056 // ERROR_INVALID_PASSWORD (wrong old password)
	ldapInvalidCredentials = 49
	ldapConstraint         = 19
	ldapUnavailable        = 52
)

// User is one seeded account.
type User struct {
	GUID        string // empty: derived from the tenant and username
	DN          string // empty: CN=<DisplayName>,OU=Staff,<base>
	Username    string // sAMAccountName
	UPN         string // empty: username@<domain>
	Mail        string
	Mobile      string
	DisplayName string
	Groups      []string
	AdminCount  int
	Password    string // empty: DefaultPassword
	Disabled    bool
	MustChange  bool
	// AccountExpires is when the account expires (zero: never).
	AccountExpires time.Time
}

// Options configure a Dir.
type Options struct {
	// Tenant names the demo organisation ("acme", "globex"); it makes the
	// domain <tenant>.local and the base DN DC=<tenant>,DC=local. Default acme.
	Tenant string
	// Users replaces the default seed (DefaultUsers(Tenant)) when non-nil.
	Users []User
	// Policy replaces DefaultPolicy() when its MinLength is non-zero.
	Policy directory.Policy
	// NoPolicyHints makes the directory behave like a DC without the
	// policy-hints control: resets do not enforce history.
	NoPolicyHints bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// DefaultPolicy is the seeded domain policy.
func DefaultPolicy() directory.Policy {
	return directory.Policy{Source: directory.PolicySourceDomain, MinLength: 8, Complexity: true, HistoryLength: 5,
		LockoutThreshold: 5, LockoutDuration: 15 * time.Minute, LockoutWindow: 15 * time.Minute}
}

// BaseDN returns the demo tenant's base DN, e.g. DC=acme,DC=local.
func BaseDN(tenant string) string { return "DC=" + tenant + ",DC=local" }

// DomainAdmins is the DN of the seeded privileged group.
func DomainAdmins(tenant string) string { return "CN=Domain Admins,CN=Users," + BaseDN(tenant) }

// DefaultUsers is the seed for a demo tenant: alice, bob and carol in
// OU=Staff, and administrator (adminCount=1, Domain Admins) in CN=Users.
func DefaultUsers(tenant string) []User {
	mailDomain := tenant + ".example"
	staff := "OU=Staff," + BaseDN(tenant)
	return []User{
		{Username: "alice", DisplayName: "Alice Martin", Mail: "alice@" + mailDomain, Mobile: "+14155550101", DN: "CN=Alice Martin," + staff},
		{Username: "bob", DisplayName: "Bob Nguyen", Mail: "bob@" + mailDomain, Mobile: "+14155550102", DN: "CN=Bob Nguyen," + staff},
		{Username: "carol", DisplayName: "Carol Diaz", Mail: "carol@" + mailDomain, Mobile: "+14155550103", DN: "CN=Carol Diaz," + staff},
		{Username: "administrator", DisplayName: "Administrator", Mail: "administrator@" + mailDomain, Mobile: "+14155550199",
			DN: "CN=Administrator,CN=Users," + BaseDN(tenant), AdminCount: 1, Groups: []string{DomainAdmins(tenant)}},
	}
}

// GUIDFor is the GUID a seeded user gets when User.GUID is empty.
func GUIDFor(tenant, username string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("latchkey-demo/"+tenant+"/"+strings.ToLower(username))).String()
}

type account struct {
	entry          directory.Entry
	hash           [32]byte   // current password
	history        [][32]byte // previous passwords, newest first (current excluded)
	disabled       bool
	mustChange     bool
	pwdLastSet     time.Time
	accountExpires time.Time
	lockoutTime    time.Time // zero: not locked
	badPwdCount    int
	badPwdTime     time.Time
}

// Dir is the in-memory directory.
type Dir struct {
	tenant string
	policy directory.Policy
	hints  bool
	now    func() time.Time
	salt   [16]byte

	mu       sync.Mutex
	accounts map[string]*account // by GUID
	closed   bool
}

var (
	_ directory.Directory    = (*Dir)(nil)
	_ directory.RightsReader = (*Dir)(nil)
)

// New builds a Dir seeded with opt.Users (default DefaultUsers).
func New(opt Options) (*Dir, error) {
	if opt.Tenant == "" {
		opt.Tenant = "acme"
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Policy.MinLength == 0 {
		opt.Policy = DefaultPolicy()
	}
	if opt.Users == nil {
		opt.Users = DefaultUsers(opt.Tenant)
	}
	d := &Dir{tenant: opt.Tenant, policy: opt.Policy, hints: !opt.NoPolicyHints, now: opt.Now, accounts: map[string]*account{}}
	if _, err := rand.Read(d.salt[:]); err != nil {
		return nil, err
	}
	now := d.now()
	logins := map[string]bool{}
	for _, u := range opt.Users {
		if u.Username == "" {
			return nil, errors.New("demodir: a user has no username")
		}
		if u.GUID == "" {
			u.GUID = GUIDFor(opt.Tenant, u.Username)
		}
		g, err := uuid.Parse(u.GUID)
		if err != nil {
			return nil, fmt.Errorf("demodir: user %s: GUID: %w", u.Username, err)
		}
		if u.DisplayName == "" {
			u.DisplayName = u.Username
		}
		if u.DN == "" {
			u.DN = "CN=" + u.DisplayName + ",OU=Staff," + BaseDN(opt.Tenant)
		}
		if u.UPN == "" {
			u.UPN = u.Username + "@" + opt.Tenant + ".local"
		}
		if u.Password == "" {
			u.Password = DefaultPassword
		}
		for _, l := range []string{u.Username, u.UPN, u.Mail} {
			if l == "" {
				continue
			}
			if logins[strings.ToLower(l)] {
				return nil, fmt.Errorf("demodir: login %q is not unique", l)
			}
			logins[strings.ToLower(l)] = true
		}
		guid := g.String()
		if _, dup := d.accounts[guid]; dup {
			return nil, fmt.Errorf("demodir: GUID %s is not unique", guid)
		}
		d.accounts[guid] = &account{
			entry: directory.Entry{GUID: guid, DN: u.DN, Username: u.Username, UPN: u.UPN, Mail: u.Mail, Mobile: u.Mobile,
				DisplayName: u.DisplayName, Groups: append([]string(nil), u.Groups...), AdminCount: u.AdminCount},
			hash: d.hashOf(u.Password), disabled: u.Disabled, mustChange: u.MustChange, pwdLastSet: now,
			accountExpires: u.AccountExpires,
		}
	}
	return d, nil
}

// Tenant returns the demo tenant this directory was seeded for.
func (d *Dir) Tenant() string { return d.tenant }

// Entries returns every user, sorted by username.
func (d *Dir) Entries() []directory.Entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]directory.Entry, 0, len(d.accounts))
	for _, a := range d.accounts {
		out = append(out, cloneEntry(a.entry))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	return out
}

// SetDisabled disables or enables an account (the demo's admin console
// stand-in for "Active Directory Users and Computers").
func (d *Dir) SetDisabled(guid string, disabled bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, err := d.account("disable account", guid)
	if err != nil {
		return err
	}
	a.disabled = disabled
	return nil
}

func cloneEntry(e directory.Entry) directory.Entry {
	e.Groups = append([]string(nil), e.Groups...)
	return e
}

func (d *Dir) hashOf(pw string) [32]byte {
	h := sha256.New()
	h.Write(d.salt[:])
	h.Write([]byte(pw))
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func (d *Dir) matches(a *account, pw string) bool {
	h := d.hashOf(pw)
	return subtle.ConstantTimeCompare(h[:], a.hash[:]) == 1
}

func localErr(op string, code directory.Code, msg string) *directory.Error {
	return &directory.Error{Code: code, Op: op, PPolicy: directory.NoPPolicy, Err: errors.New(msg)}
}

// bindErr is what an AD bind failure looks like after classification.
func bindErr(op string, code directory.Code, data string) *directory.Error {
	return &directory.Error{Code: code, Op: op, LDAPCode: ldapInvalidCredentials, WinCode: winBindFailed, Data: data,
		PPolicy: directory.NoPPolicy, Err: fmt.Errorf("AcceptSecurityContext error, data %s (demo directory)", data)}
}

// ruleErr is a password rule refusal (AD: constraint violation 0000052D).
func ruleErr(op string, code directory.Code, msg string) *directory.Error {
	return &directory.Error{Code: code, Op: op, LDAPCode: ldapConstraint, WinCode: winPasswordRestriction,
		PPolicy: directory.NoPPolicy, Err: errors.New(msg + " (demo directory)")}
}

// begin checks ctx and the closed state, then takes the lock.
func (d *Dir) begin(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return &directory.Error{Code: directory.Unavailable, Op: op, PPolicy: directory.NoPPolicy, Err: err}
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return &directory.Error{Code: directory.Unavailable, Op: op, LDAPCode: ldapUnavailable, PPolicy: directory.NoPPolicy,
			Err: errors.New("demo directory is closed")}
	}
	return nil
}

// withAccount runs fn on the account with guid, with the directory locked:
// the prelude every per-account operation shares (ctx and closed checks,
// then the lookup).
func withAccount[T any](ctx context.Context, d *Dir, op, guid string, fn func(*account) (T, error)) (T, error) {
	var zero T
	if err := d.begin(ctx, op); err != nil {
		return zero, err
	}
	defer d.mu.Unlock()
	a, err := d.account(op, guid)
	if err != nil {
		return zero, err
	}
	return fn(a)
}

// updateAccount is withAccount for an operation that only changes the account.
func updateAccount(ctx context.Context, d *Dir, op, guid string, fn func(*account) error) error {
	_, err := withAccount(ctx, d, op, guid, func(a *account) (struct{}, error) { return struct{}{}, fn(a) })
	return err
}

func (d *Dir) account(op, guid string) (*account, error) {
	g, err := uuid.Parse(guid)
	if err != nil {
		return nil, localErr(op, directory.NotFound, "not a GUID")
	}
	a, ok := d.accounts[g.String()]
	if !ok {
		return nil, localErr(op, directory.NotFound, "no entry matches")
	}
	return a, nil
}

// locked reports whether a is locked out now, and when the lockout ends.
func (d *Dir) locked(a *account, now time.Time) (bool, time.Time) {
	if a.lockoutTime.IsZero() {
		return false, time.Time{}
	}
	if d.policy.LockoutDuration == 0 {
		return true, time.Time{} // until an administrator unlocks
	}
	ends := a.lockoutTime.Add(d.policy.LockoutDuration)
	if now.Before(ends) {
		return true, ends
	}
	return false, time.Time{}
}

// badCount is the bad-password count as it stands now (AD resets it once the
// observation window has passed since the last bad password).
func (d *Dir) badCount(a *account, now time.Time) int {
	if a.badPwdCount == 0 {
		return 0
	}
	if locked, _ := d.locked(a, now); locked {
		return a.badPwdCount
	}
	if !a.lockoutTime.IsZero() { // a lapsed lockout starts a new count
		return 0
	}
	if d.policy.LockoutWindow > 0 && !now.Before(a.badPwdTime.Add(d.policy.LockoutWindow)) {
		return 0
	}
	return a.badPwdCount
}

// badPassword records a bad password and locks at the threshold.
func (d *Dir) badPassword(a *account, now time.Time) {
	n := d.badCount(a, now) + 1
	if locked, _ := d.locked(a, now); !locked && !a.lockoutTime.IsZero() {
		a.lockoutTime = time.Time{}
	}
	a.badPwdCount, a.badPwdTime = n, now
	if d.policy.LockoutThreshold > 0 && n >= d.policy.LockoutThreshold && a.lockoutTime.IsZero() {
		a.lockoutTime = now
	}
}

func (d *Dir) pwdExpired(a *account, now time.Time) bool {
	return !a.mustChange && d.policy.MaxAge > 0 && !now.Before(a.pwdLastSet.Add(d.policy.MaxAge))
}

// Lookup finds the user whose sAMAccountName, userPrincipalName or mail
// equals login (case-insensitively, as AD compares them).
func (d *Dir) Lookup(ctx context.Context, login string) (directory.Entry, error) {
	const op = "lookup user"
	if strings.TrimSpace(login) == "" || len(login) > 256 || !utf8.ValidString(login) ||
		strings.ContainsFunc(login, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return directory.Entry{}, localErr(op, directory.NotFound, "login is empty, too long, not UTF-8 or has control characters")
	}
	if err := d.begin(ctx, op); err != nil {
		return directory.Entry{}, err
	}
	defer d.mu.Unlock()
	var found []*account
	for _, a := range d.accounts {
		e := a.entry
		if strings.EqualFold(e.Username, login) || strings.EqualFold(e.UPN, login) || (e.Mail != "" && strings.EqualFold(e.Mail, login)) {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return directory.Entry{}, localErr(op, directory.NotFound, "no entry matches")
	case 1:
		return cloneEntry(found[0].entry), nil
	}
	return directory.Entry{}, localErr(op, directory.Ambiguous, fmt.Sprintf("%d entries match", len(found)))
}

// Get reads the user with this GUID.
func (d *Dir) Get(ctx context.Context, guid string) (directory.Entry, error) {
	const op = "get user"
	return withAccount(ctx, d, op, guid, func(a *account) (directory.Entry, error) {
		return cloneEntry(a.entry), nil
	})
}

// Status computes the account state as AD's constructed attributes would.
func (d *Dir) Status(ctx context.Context, guid string) (directory.Status, error) {
	const op = "read status"
	return withAccount(ctx, d, op, guid, func(a *account) (directory.Status, error) {
		now := d.now()
		locked, ends := d.locked(a, now)
		st := directory.Status{Locked: locked, LockoutEnds: ends, BadPwdCount: d.badCount(a, now), Disabled: a.disabled,
			Expired: d.pwdExpired(a, now), MustChange: a.mustChange,
			AccountExpired: !a.accountExpires.IsZero() && !now.Before(a.accountExpires)}
		if !a.mustChange {
			st.PasswordLastSet = a.pwdLastSet
		}
		return st, nil
	})
}

// VerifyPassword is an AD simple bind as the user.
func (d *Dir) VerifyPassword(ctx context.Context, loginOrGUID, password string) error {
	const op = "verify password"
	if password == "" {
		return localErr(op, directory.InvalidCredentials, "empty password")
	}
	var guid string
	if g, err := uuid.Parse(loginOrGUID); err == nil {
		guid = g.String()
	} else {
		e, err := d.Lookup(ctx, loginOrGUID)
		if err != nil {
			if code, _ := directory.CodeOf(err); code == directory.NotFound {
				return bindErr(op, directory.InvalidCredentials, "52e") // AD does not say "no such user" on a bind
			}
			return err
		}
		guid = e.GUID
	}
	if err := d.begin(ctx, op); err != nil {
		return err
	}
	defer d.mu.Unlock()
	a, err := d.account(op, guid)
	if err != nil {
		return bindErr(op, directory.InvalidCredentials, "52e")
	}
	now := d.now()
	if locked, _ := d.locked(a, now); locked {
		return bindErr(op, directory.Locked, "775")
	}
	if a.disabled {
		return bindErr(op, directory.Disabled, "533")
	}
	if !a.accountExpires.IsZero() && !now.Before(a.accountExpires) {
		return bindErr(op, directory.AccountExpired, "701")
	}
	if !d.matches(a, password) {
		d.badPassword(a, now)
		if locked, _ := d.locked(a, now); locked {
			return bindErr(op, directory.Locked, "775")
		}
		return bindErr(op, directory.InvalidCredentials, "52e")
	}
	a.badPwdCount, a.lockoutTime = 0, time.Time{} // not locked (checked above): a lapsed lockout is cleared
	if a.mustChange {
		return bindErr(op, directory.MustChange, "773")
	}
	if d.pwdExpired(a, now) {
		return bindErr(op, directory.Expired, "532")
	}
	return nil
}

// checkPassword applies the policy to a new password.
func (d *Dir) checkPassword(op string, a *account, pw string, history bool) error {
	if !utf8.ValidString(pw) || strings.ContainsRune(pw, 0) {
		return ruleErr(op, directory.PasswordRestriction, "password is not valid UTF-8 or contains NUL")
	}
	if utf8.RuneCountInString(pw) < d.policy.MinLength {
		return ruleErr(op, directory.TooShort, fmt.Sprintf("shorter than %d characters", d.policy.MinLength))
	}
	if d.policy.Complexity && !complex(pw, a.entry.Username, a.entry.DisplayName) {
		return ruleErr(op, directory.NotComplex, "does not meet the complexity requirements")
	}
	if history && d.policy.HistoryLength > 0 {
		h := d.hashOf(pw)
		remembered := append([][32]byte{a.hash}, a.history...)
		if len(remembered) > d.policy.HistoryLength {
			remembered = remembered[:d.policy.HistoryLength]
		}
		for _, old := range remembered {
			if subtle.ConstantTimeCompare(h[:], old[:]) == 1 {
				return ruleErr(op, directory.InHistory, "matches a remembered password")
			}
		}
	}
	return nil
}

// complex is AD's "passwords must meet complexity requirements": characters
// from 3 of 4 classes, and neither the account name nor any part (3+
// characters) of the display name, case-insensitively.
func complex(pw, username, displayName string) bool {
	var upper, lower, digit, other bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	n := 0
	for _, b := range []bool{upper, lower, digit, other} {
		if b {
			n++
		}
	}
	if n < 3 {
		return false
	}
	lp := strings.ToLower(pw)
	if len(username) >= 3 && strings.Contains(lp, strings.ToLower(username)) {
		return false
	}
	for _, part := range strings.FieldsFunc(displayName, func(r rune) bool {
		return strings.ContainsRune(",.-_ #\t", r)
	}) {
		if utf8.RuneCountInString(part) >= 3 && strings.Contains(lp, strings.ToLower(part)) {
			return false
		}
	}
	return true
}

// setPassword stores pw as the current password.
func (d *Dir) setPassword(a *account, pw string, now time.Time) {
	a.history = append([][32]byte{a.hash}, a.history...)
	if keep := max(d.policy.HistoryLength, 1); len(a.history) > keep {
		a.history = a.history[:keep]
	}
	a.hash = d.hashOf(pw)
	a.pwdLastSet = now
}

// Reset is an admin reset; history is enforced because the directory
// advertises policy hints (unless Options.NoPolicyHints).
func (d *Dir) Reset(ctx context.Context, guid, newPassword string, opts directory.ResetOptions) error {
	const op = "reset password"
	return updateAccount(ctx, d, op, guid, func(a *account) error {
		if err := d.checkPassword(op, a, newPassword, d.hints); err != nil {
			return err
		}
		now := d.now()
		d.setPassword(a, newPassword, now)
		a.mustChange = opts.MustChange
		if opts.Unlock {
			a.lockoutTime, a.badPwdCount = time.Time{}, 0
		}
		return nil
	})
}

// Change sets a new password given the current one.
func (d *Dir) Change(ctx context.Context, guid, oldPassword, newPassword string) error {
	const op = "change password"
	return updateAccount(ctx, d, op, guid, func(a *account) error {
		now := d.now()
		if locked, _ := d.locked(a, now); locked {
			return bindErr(op, directory.Locked, "775")
		}
		if oldPassword == "" || !d.matches(a, oldPassword) {
			d.badPassword(a, now)
			return &directory.Error{Code: directory.WrongPassword, Op: op, LDAPCode: ldapConstraint, WinCode: winInvalidPassword,
				PPolicy: directory.NoPPolicy, Err: errors.New("the current password is wrong (demo directory)")}
		}
		if d.policy.MinAge > 0 && !a.mustChange && now.Before(a.pwdLastSet.Add(d.policy.MinAge)) {
			return ruleErr(op, directory.TooYoung, "changed too recently")
		}
		if err := d.checkPassword(op, a, newPassword, true); err != nil {
			return err
		}
		d.setPassword(a, newPassword, now)
		a.mustChange = false
		a.badPwdCount = 0
		return nil
	})
}

// Unlock clears the lockout and the bad-password count (lockoutTime=0).
func (d *Dir) Unlock(ctx context.Context, guid string) error {
	const op = "unlock account"
	return updateAccount(ctx, d, op, guid, func(a *account) error {
		a.lockoutTime, a.badPwdCount = time.Time{}, 0
		return nil
	})
}

// ForceChange requires a change at next logon (pwdLastSet=0).
func (d *Dir) ForceChange(ctx context.Context, guid string) error {
	const op = "force password change"
	return updateAccount(ctx, d, op, guid, func(a *account) error {
		a.mustChange = true
		return nil
	})
}

// Policy returns the domain policy (the demo has no fine-grained policies).
func (d *Dir) Policy(ctx context.Context, guid string) (directory.Policy, error) {
	const op = "read password policy"
	return withAccount(ctx, d, op, guid, func(*account) (directory.Policy, error) {
		return d.policy, nil
	})
}

// Info describes the demo "DC".
func (d *Dir) Info(ctx context.Context) (directory.ServerInfo, error) {
	if err := d.begin(ctx, "read rootDSE"); err != nil {
		return directory.ServerInfo{}, err
	}
	defer d.mu.Unlock()
	info := directory.ServerInfo{DefaultNamingContext: BaseDN(d.tenant), Vendor: "Latchkey demo directory (in memory)"}
	if d.hints {
		info.SupportedControls = []string{directory.OIDPolicyHints}
		info.PolicyHintsOID = directory.OIDPolicyHints
	}
	return info, nil
}

// EffectiveRights reports full delegated rights on every user.
func (d *Dir) EffectiveRights(ctx context.Context, guid string) (directory.Rights, error) {
	const op = "read effective rights"
	return withAccount(ctx, d, op, guid, func(*account) (directory.Rights, error) {
		return directory.Rights{Known: true, WriteLockoutTime: true, WritePwdLastSet: true, WriteUnicodePwd: true}, nil
	})
}

// Ping succeeds until Close.
func (d *Dir) Ping(ctx context.Context) error {
	if err := d.begin(ctx, "ping"); err != nil {
		return err
	}
	d.mu.Unlock()
	return nil
}

// Close makes every later operation fail with Unavailable.
func (d *Dir) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	return nil
}
