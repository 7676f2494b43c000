package tenants

import "time"

// AuditEvent is one entry of a tenant's append-only, hash-chained audit log.
// It never carries a secret (password, code, token, answer).
type AuditEvent struct {
	TenantID ID
	// Seq numbers a tenant's events from 1 without gaps.
	Seq           int64
	Time          time.Time
	Actor         string // who did it: "user:<id>", "admin:<id>", "operator", "system", "connector:<id>"
	Action        string // e.g. "tenant.create", "host.add", "password.reset"
	Target        string // what it was done to
	IP            string
	UserAgent     string
	Outcome       string // "success", "failure", "denied", …
	CorrelationID string // the request id
	Detail        map[string]string
	// PrevHash is the Hash of the tenant's previous event (32 zero bytes for the
	// first); Hash covers PrevHash and every field above. Both are set by the
	// store on append (see package tenants/audit).
	PrevHash []byte
	Hash     []byte
}
