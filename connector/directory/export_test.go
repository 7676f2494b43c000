package directory

import (
	"context"
	"time"

	"github.com/go-ldap/ldap/v3"
)

func clientOf(d Directory) *client {
	switch x := d.(type) {
	case *adDirectory:
		return x.client
	case *openLDAPDirectory:
		return x.client
	}
	panic("not a directory of this package")
}

// InjectConnForTest puts an established go-ldap connection into d's pool as
// its most recently used idle connection (R43 tests: a plaintext one).
func InjectConnForTest(d Directory, l *ldap.Conn) {
	p := clientOf(d).pool
	p.mu.Lock()
	p.idle = append(p.idle, &pconn{l: l, url: "injected", idleSince: time.Now()})
	p.mu.Unlock()
}

// ModifyForTest sends req through d's write path (a pooled service
// connection).
func ModifyForTest(ctx context.Context, d Directory, req *ldap.ModifyRequest) error {
	return clientOf(d).modify(ctx, "test modify", req)
}
