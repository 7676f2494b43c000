package agent

import (
	"context"
	"errors"

	"github.com/latchkey/latchkey/connector/directory"
	"github.com/latchkey/latchkey/connector/protocol"
)

// FromDirectory adapts the directory layer to what the agent needs, turning its
// classified errors into DirectoryError codes for the signed result.
func FromDirectory(d directory.Directory) Directory { return dirAdapter{d} }

type dirAdapter struct{ d directory.Directory }

func dirErr(err error) error {
	if err == nil {
		return nil
	}
	if code, ok := directory.CodeOf(err); ok {
		return &DirectoryError{Code: code.String(), Err: err}
	}
	var de *DirectoryError
	if errors.As(err, &de) {
		return err
	}
	return &DirectoryError{Code: "Unknown", Err: err}
}

func account(e directory.Entry) protocol.Account {
	return protocol.Account{GUID: e.GUID, DN: e.DN, Username: e.Username, UPN: e.UPN, Mail: e.Mail, Mobile: e.Mobile,
		DisplayName: e.DisplayName, Groups: e.Groups}
}

func (a dirAdapter) Lookup(ctx context.Context, login string) (protocol.Account, error) {
	e, err := a.d.Lookup(ctx, login)
	return account(e), dirErr(err)
}

func (a dirAdapter) Account(ctx context.Context, guid string) (protocol.Account, Protection, error) {
	e, err := a.d.Get(ctx, guid)
	return account(e), Protection{AdminCount: e.AdminCount == 1}, dirErr(err)
}

func (a dirAdapter) Status(ctx context.Context, guid string) (protocol.AccountStatus, error) {
	s, err := a.d.Status(ctx, guid)
	return protocol.AccountStatus{Locked: s.Locked, LockoutEnds: s.LockoutEnds, BadPwdCount: s.BadPwdCount, Disabled: s.Disabled,
		Expired: s.Expired || s.AccountExpired, MustChange: s.MustChange}, dirErr(err)
}

func (a dirAdapter) Policy(ctx context.Context, guid string) (protocol.PasswordPolicy, error) {
	p, err := a.d.Policy(ctx, guid)
	return protocol.PasswordPolicy{MinLength: p.MinLength, Complexity: p.Complexity, History: p.HistoryLength, MinAge: p.MinAge,
		MaxAge: p.MaxAge, LockoutThreshold: p.LockoutThreshold, LockoutDuration: p.LockoutDuration, Source: p.Source}, dirErr(err)
}

func (a dirAdapter) VerifyPassword(ctx context.Context, guid, password string) error {
	return dirErr(a.d.VerifyPassword(ctx, guid, password))
}

func (a dirAdapter) Reset(ctx context.Context, guid, password string, unlock, mustChange bool) error {
	return dirErr(a.d.Reset(ctx, guid, password, directory.ResetOptions{Unlock: unlock, MustChange: mustChange}))
}

func (a dirAdapter) Change(ctx context.Context, guid, oldPassword, newPassword string) error {
	return dirErr(a.d.Change(ctx, guid, oldPassword, newPassword))
}

func (a dirAdapter) Unlock(ctx context.Context, guid string) error {
	return dirErr(a.d.Unlock(ctx, guid))
}

func (a dirAdapter) ForceChange(ctx context.Context, guid string) error {
	return dirErr(a.d.ForceChange(ctx, guid))
}
