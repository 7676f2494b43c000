package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/latchkey/latchkey/connector/protocol"
)

// Directory is what the agent needs of the directory layer. cmd/latchkey-connector
// adapts connector/directory to it; tests use a fake.
type Directory interface {
	Lookup(ctx context.Context, login string) (protocol.Account, error)
	Account(ctx context.Context, guid string) (protocol.Account, Protection, error)
	Status(ctx context.Context, guid string) (protocol.AccountStatus, error)
	Policy(ctx context.Context, guid string) (protocol.PasswordPolicy, error)
	VerifyPassword(ctx context.Context, guid, password string) error
	Reset(ctx context.Context, guid, password string, unlock, mustChange bool) error
	Change(ctx context.Context, guid, oldPassword, newPassword string) error
	Unlock(ctx context.Context, guid string) error
	ForceChange(ctx context.Context, guid string) error
}

// Protection is what the directory says about an account's privilege.
type Protection struct {
	AdminCount bool // adminCount=1
}

// DirectoryError is how a Directory reports a refusal by the directory: Code is
// a connector/directory code name ("PasswordRestriction", "WrongPassword", …).
type DirectoryError struct {
	Code string
	Err  error
}

func (e *DirectoryError) Error() string { return "directory: " + e.Code + ": " + e.Err.Error() }
func (e *DirectoryError) Unwrap() error { return e.Err }

// Guardrails are local rules the cloud cannot change.
type Guardrails struct {
	// OUs in scope (DNs); an account outside all of them is refused. Empty means
	// the whole directory — discouraged, and logged at start.
	OUs []string
	// ProtectAdmins refuses accounts with adminCount=1 (on by default).
	ProtectAdmins bool
	// ProtectedGroups are group DNs whose members are refused.
	ProtectedGroups []string
	// WritesPerMinute and WriteBurst limit commands other than lookups.
	WritesPerMinute, WriteBurst int
}

// executor runs verified commands.
type executor struct {
	tenant, connector string
	commandKey        []byte
	sealKey           []byte
	signKey           []byte
	dir               Directory
	rails             Guardrails
	journal           *journal
	limiter           *rateLimiter
	now               func() time.Time
	log               *slog.Logger
}

// handle turns one signed command into one signed result. It never returns
// without a result: every command gets exactly one answer.
func (x *executor) handle(ctx context.Context, frameID string, sc protocol.SignedCommand) protocol.SignedResult {
	now := x.now()
	b, err := protocol.VerifyCommand(x.commandKey, sc, x.tenant, x.connector, now)
	// A command seen before gets its first answer again, even past its expiry,
	// so that a result lost with a dropped connection can still be collected.
	if reason := protocol.ReasonOf(err); (err == nil || reason == protocol.RefuseExpired) && b.ID == frameID {
		if r, seen := x.journal.lookup(ctx, b.ID); seen {
			if r != nil {
				return *r
			}
			return x.sign(frameID, protocol.ResultBody{Status: protocol.StatusRefused, Reason: protocol.RefuseReplay,
				Code: "outcome_unknown"})
		}
	}
	if err != nil {
		x.log.WarnContext(ctx, "command refused", slog.String("cmd_id", frameID), slog.String("reason", string(protocol.ReasonOf(err))), slog.String("error", err.Error()))
		return x.sign(frameID, protocol.ResultBody{Status: protocol.StatusRefused, Reason: protocol.ReasonOf(err)})
	}
	if b.ID != frameID {
		return x.sign(frameID, protocol.ResultBody{Status: protocol.StatusRefused, Reason: protocol.RefuseMalformed})
	}
	if _, err := x.journal.begin(b.ID, b.ExpiresAt); err != nil {
		if errors.Is(err, errAlreadySeen) { // a concurrent second delivery: share the first's answer
			if r, _ := x.journal.lookup(ctx, b.ID); r != nil {
				return *r
			}
			return x.sign(b.ID, protocol.ResultBody{Status: protocol.StatusRefused, Reason: protocol.RefuseReplay, Code: "outcome_unknown"})
		}
		x.log.ErrorContext(ctx, "journal", slog.String("cmd_id", b.ID), slog.String("error", err.Error()))
		return x.sign(b.ID, protocol.ResultBody{Status: protocol.StatusRefused, Reason: protocol.RefuseReplay, Code: "journal_unavailable"})
	}
	res := x.run(ctx, b)
	signed := x.sign(b.ID, res)
	if err := x.journal.finish(b.ID, signed); err != nil {
		x.log.ErrorContext(ctx, "journal result", slog.String("cmd_id", b.ID), slog.String("error", err.Error()))
	}
	return signed
}

func (x *executor) sign(id string, r protocol.ResultBody) protocol.SignedResult {
	r.CommandID, r.Tenant, r.Connector, r.Time = id, x.tenant, x.connector, x.now()
	sr, err := protocol.SignResult(x.signKey, r)
	if err != nil { // cannot happen for these types; keep an answer anyway
		x.log.Error("sign result", slog.String("error", err.Error()))
	}
	return sr
}

// run applies guardrails, then the operation. The command already passed
// VerifyCommand and the journal.
func (x *executor) run(ctx context.Context, b protocol.CommandBody) protocol.ResultBody {
	refused := func(r protocol.Refusal) protocol.ResultBody {
		x.log.WarnContext(ctx, "command refused", slog.String("cmd_id", b.ID), slog.String("op", string(b.Op)), slog.String("reason", string(r)))
		return protocol.ResultBody{Status: protocol.StatusRefused, Reason: r}
	}
	ctx, cancel := context.WithDeadline(ctx, b.ExpiresAt)
	defer cancel()

	if b.Op != protocol.OpLookup && !x.limiter.allow(x.now()) {
		return refused(protocol.RefuseRateLimit)
	}
	// Resolve the account and apply scope and protection before anything else.
	var acct protocol.Account
	var prot Protection
	var err error
	if b.Op == protocol.OpLookup {
		acct, err = x.dir.Lookup(ctx, b.Login)
		if err == nil {
			_, prot, err = x.dir.Account(ctx, acct.GUID)
		}
	} else {
		acct, prot, err = x.dir.Account(ctx, b.Target)
	}
	if err != nil {
		return x.dirError(ctx, b, err)
	}
	if !InScope(acct.DN, x.rails.OUs) {
		return refused(protocol.RefuseScope)
	}
	if (x.rails.ProtectAdmins && prot.AdminCount) || memberOfAny(acct.Groups, x.rails.ProtectedGroups) {
		return refused(protocol.RefuseProtected)
	}

	var data any
	switch b.Op {
	case protocol.OpLookup:
		data = acct
	case protocol.OpReadStatus:
		data, err = x.dir.Status(ctx, b.Target)
	case protocol.OpReadPolicy:
		data, err = x.dir.Policy(ctx, b.Target)
	case protocol.OpUnlock:
		err = x.dir.Unlock(ctx, b.Target)
	case protocol.OpForceChange:
		err = x.dir.ForceChange(ctx, b.Target)
	case protocol.OpVerifyPassword, protocol.OpReset, protocol.OpChange:
		err = x.withSecrets(b, func(pw, old string) error {
			switch b.Op {
			case protocol.OpVerifyPassword:
				return x.dir.VerifyPassword(ctx, b.Target, pw)
			case protocol.OpReset:
				return x.dir.Reset(ctx, b.Target, pw, b.Unlock, b.MustChange)
			default:
				return x.dir.Change(ctx, b.Target, old, pw)
			}
		})
		var bad *badSecretError
		if errors.As(err, &bad) {
			return refused(protocol.RefuseBadPayload)
		}
	default:
		return refused(protocol.RefuseOperation)
	}
	if err != nil {
		return x.dirError(ctx, b, err)
	}
	res := protocol.ResultBody{Status: protocol.StatusDone}
	if data != nil {
		res.Data, _ = json.Marshal(data)
	}
	x.log.InfoContext(ctx, "command done", slog.String("cmd_id", b.ID), slog.String("op", string(b.Op)))
	return res
}

type badSecretError struct{ error }

// withSecrets opens the sealed passwords, passes them to fn and zeroes them.
func (x *executor) withSecrets(b protocol.CommandBody, fn func(pw, old string) error) error {
	pw, err := protocol.OpenSecret(x.sealKey, b.Password, protocol.SecretAAD(b.ID, b.Tenant, b.Target, "password"))
	if err != nil {
		return &badSecretError{fmt.Errorf("password: %w", err)}
	}
	defer protocol.Zero(pw)
	var old []byte
	if b.OldPassword != nil {
		if old, err = protocol.OpenSecret(x.sealKey, b.OldPassword, protocol.SecretAAD(b.ID, b.Tenant, b.Target, "old_password")); err != nil {
			return &badSecretError{fmt.Errorf("old password: %w", err)}
		}
		defer protocol.Zero(old)
	}
	return fn(string(pw), string(old))
}

func (x *executor) dirError(ctx context.Context, b protocol.CommandBody, err error) protocol.ResultBody {
	code := "Unknown"
	var de *DirectoryError
	if errors.As(err, &de) {
		code = de.Code
	}
	x.log.WarnContext(ctx, "directory refused", slog.String("cmd_id", b.ID), slog.String("op", string(b.Op)), slog.String("code", code), slog.String("error", err.Error()))
	return protocol.ResultBody{Status: protocol.StatusDirectoryError, Code: code}
}

// InScope reports whether dn lies inside one of the OUs (on RDN boundaries,
// case-insensitively); no OUs means everything is in scope.
func InScope(dn string, ous []string) bool {
	if len(ous) == 0 {
		return true
	}
	d := normDN(dn)
	for _, ou := range ous {
		o := normDN(ou)
		if o != "" && (d == o || strings.HasSuffix(d, ","+o)) {
			return true
		}
	}
	return false
}

func memberOfAny(groups, protected []string) bool {
	for _, g := range groups {
		for _, p := range protected {
			if normDN(g) == normDN(p) {
				return true
			}
		}
	}
	return false
}

func normDN(dn string) string {
	parts := strings.Split(dn, ",")
	for i, p := range parts {
		k, v, _ := strings.Cut(p, "=")
		parts[i] = strings.ToLower(strings.TrimSpace(k)) + "=" + strings.ToLower(strings.TrimSpace(v))
	}
	return strings.Join(parts, ",")
}
