package agent

import (
	"context"
	"errors"
	"sync"

	"github.com/latchkey/latchkey/connector/protocol"
)

// fakeDir is an in-memory Directory for unit tests; the real proof runs against
// Samba in connector/directory.
type fakeDir struct {
	mu       sync.Mutex
	accounts map[string]*fakeAccount
	calls    map[string]int // op → count
}

type fakeAccount struct {
	protocol.Account
	admin    bool
	password string
	locked   bool
	writes   int
}

func newFakeDir() *fakeDir {
	return &fakeDir{accounts: map[string]*fakeAccount{}, calls: map[string]int{}}
}

func (f *fakeDir) add(guid, dn, user, pw string, admin bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[guid] = &fakeAccount{Account: protocol.Account{GUID: guid, DN: dn, Username: user}, admin: admin, password: pw}
}

func (f *fakeDir) get(guid string) (*fakeAccount, error) {
	a, ok := f.accounts[guid]
	if !ok {
		return nil, &DirectoryError{Code: "NotFound", Err: errors.New("no such object")}
	}
	return a, nil
}

func (f *fakeDir) count(op string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls[op] }

func (f *fakeDir) Lookup(_ context.Context, login string) (protocol.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["lookup"]++
	for _, a := range f.accounts {
		if a.Username == login {
			return a.Account, nil
		}
	}
	return protocol.Account{}, &DirectoryError{Code: "NotFound", Err: errors.New("no such user")}
}

func (f *fakeDir) Account(_ context.Context, guid string) (protocol.Account, Protection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.get(guid)
	if err != nil {
		return protocol.Account{}, Protection{}, err
	}
	return a.Account, Protection{AdminCount: a.admin}, nil
}

func (f *fakeDir) Status(_ context.Context, guid string) (protocol.AccountStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, err := f.get(guid)
	if err != nil {
		return protocol.AccountStatus{}, err
	}
	return protocol.AccountStatus{Locked: a.locked}, nil
}

func (f *fakeDir) Policy(context.Context, string) (protocol.PasswordPolicy, error) {
	return protocol.PasswordPolicy{MinLength: 7, Complexity: true}, nil
}

func (f *fakeDir) VerifyPassword(_ context.Context, guid, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["verify"]++
	a, err := f.get(guid)
	if err != nil {
		return err
	}
	if a.password != pw {
		return &DirectoryError{Code: "InvalidCredentials", Err: errors.New("data 52e")}
	}
	return nil
}

func (f *fakeDir) Reset(_ context.Context, guid, pw string, unlock, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["reset"]++
	a, err := f.get(guid)
	if err != nil {
		return err
	}
	if len(pw) < 7 {
		return &DirectoryError{Code: "TooShort", Err: errors.New("0000052D")}
	}
	a.password, a.writes = pw, a.writes+1
	if unlock {
		a.locked = false
	}
	return nil
}

func (f *fakeDir) Change(_ context.Context, guid, old, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["change"]++
	a, err := f.get(guid)
	if err != nil {
		return err
	}
	if a.password != old {
		return &DirectoryError{Code: "WrongPassword", Err: errors.New("00000056")}
	}
	a.password, a.writes = pw, a.writes+1
	return nil
}

func (f *fakeDir) Unlock(_ context.Context, guid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["unlock"]++
	a, err := f.get(guid)
	if err != nil {
		return err
	}
	a.locked, a.writes = false, a.writes+1
	return nil
}

func (f *fakeDir) ForceChange(_ context.Context, guid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["force_change"]++
	_, err := f.get(guid)
	return err
}
