package postgres

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

// brandingDoc is the JSON form of the tenants.branding column. The logo and
// its content type have their own columns.
type brandingDoc struct {
	DisplayName  string `json:"display_name"`
	PrimaryColor string `json:"primary_color"`
	AccentColor  string `json:"accent_color"`
	SupportText  string `json:"support_text"`
}

const tenantColumns = `tenant_id, slug, name, canonical_host, branding, logo, logo_content_type,
	default_locale, policy, selfservice, default_org_id, resource_version, created_at, updated_at`

func scanTenant(row pgx.Row) (tenants.Tenant, error) {
	var (
		t                             tenants.Tenant
		id                            string
		branding, policy, selfService []byte
		defOrg                        *string
	)
	err := row.Scan(&id, &t.Slug, &t.Name, &t.CanonicalHost, &branding, &t.Branding.Logo,
		&t.Branding.LogoContentType, &t.DefaultLocale, &policy, &selfService, &defOrg, &t.ResourceVersion,
		&t.CreatedAt, &t.UpdatedAt)
	if err != nil {
		return tenants.Tenant{}, err
	}
	t.ID = tenants.ID(id)
	t.DefaultOrganisationID = deref(defOrg)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	var b brandingDoc
	if err := json.Unmarshal(branding, &b); err != nil {
		return tenants.Tenant{}, fmt.Errorf("decode tenant %s branding: %w", id, err)
	}
	t.Branding.DisplayName, t.Branding.PrimaryColor = b.DisplayName, b.PrimaryColor
	t.Branding.AccentColor, t.Branding.SupportText = b.AccentColor, b.SupportText
	if err := json.Unmarshal(policy, &t.Policy); err != nil {
		return tenants.Tenant{}, fmt.Errorf("decode tenant %s policy: %w", id, err)
	}
	if err := json.Unmarshal(selfService, &t.SelfService); err != nil {
		return tenants.Tenant{}, fmt.Errorf("decode tenant %s self-service settings: %w", id, err)
	}
	return t, nil
}

// selfServiceDoc returns the JSON of the tenants.selfservice column.
func selfServiceDoc(s tenants.SelfServiceSettings) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode self-service settings: %w", err)
	}
	return string(b), nil
}

// tenantDocs returns the JSON columns of t but the self-service settings.
func tenantDocs(t tenants.Tenant) (branding, policy string, err error) {
	b, err := json.Marshal(brandingDoc{
		DisplayName:  t.Branding.DisplayName,
		PrimaryColor: t.Branding.PrimaryColor,
		AccentColor:  t.Branding.AccentColor,
		SupportText:  t.Branding.SupportText,
	})
	if err != nil {
		return "", "", fmt.Errorf("encode branding: %w", err)
	}
	p, err := json.Marshal(t.Policy)
	if err != nil {
		return "", "", fmt.Errorf("encode policy: %w", err)
	}
	return string(b), string(p), nil
}

const hostColumns = `tenant_id, host, is_primary, created_at`

func scanHost(row pgx.Row) (tenants.Host, error) {
	var (
		h  tenants.Host
		id string
	)
	if err := row.Scan(&id, &h.Host, &h.Primary, &h.CreatedAt); err != nil {
		return tenants.Host{}, err
	}
	h.TenantID, h.CreatedAt = tenants.ID(id), h.CreatedAt.UTC()
	return h, nil
}

const orgColumns = `tenant_id, org_id, name, rules, priority, policy, resource_version, created_at, updated_at`

func scanOrg(row pgx.Row) (tenants.Organisation, error) {
	var (
		o             tenants.Organisation
		tid           string
		rules, policy []byte
	)
	err := row.Scan(&tid, &o.ID, &o.Name, &rules, &o.Priority, &policy, &o.ResourceVersion,
		&o.CreatedAt, &o.UpdatedAt)
	if err != nil {
		return tenants.Organisation{}, err
	}
	o.TenantID = tenants.ID(tid)
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	if err := json.Unmarshal(rules, &o.Rules); err != nil {
		return tenants.Organisation{}, fmt.Errorf("decode organisation %s rules: %w", o.ID, err)
	}
	if err := json.Unmarshal(policy, &o.Policy); err != nil {
		return tenants.Organisation{}, fmt.Errorf("decode organisation %s policy: %w", o.ID, err)
	}
	return o, nil
}

// orgDocs returns the JSON columns of o (rules is always an array).
func orgDocs(o tenants.Organisation) (rules, policy string, err error) {
	rs := o.Rules
	if rs == nil {
		rs = []tenants.MatchRule{}
	}
	r, err := json.Marshal(rs)
	if err != nil {
		return "", "", fmt.Errorf("encode rules: %w", err)
	}
	p, err := json.Marshal(o.Policy)
	if err != nil {
		return "", "", fmt.Errorf("encode policy: %w", err)
	}
	return string(r), string(p), nil
}

const userColumns = `tenant_id, user_id, directory_guid, username, upn, display_name, org_id, email,
	email_verified, phone, phone_verified, locale, is_admin, enrollment, failed_verifications,
	selfservice_locked_until, frozen_at, push_history, created_at, updated_at`

func scanUser(row pgx.Row) (tenants.User, error) {
	var (
		u                   tenants.User
		tid                 string
		guid, orgID         *string
		enrollment          []byte
		lockedUntil, frozen *time.Time
	)
	err := row.Scan(&tid, &u.ID, &guid, &u.Username, &u.UPN, &u.DisplayName, &orgID, &u.Email,
		&u.EmailVerified, &u.Phone, &u.PhoneVerified, &u.Locale, &u.IsAdmin, &enrollment, &u.FailedVerifications,
		&lockedUntil, &frozen, &u.PushHistory, &u.CreatedAt, &u.UpdatedAt)
	if err != nil {
		return tenants.User{}, err
	}
	u.TenantID = tenants.ID(tid)
	u.DirectoryGUID, u.OrganisationID = deref(guid), deref(orgID)
	u.PushHistory = check.Bytes(u.PushHistory)
	u.SelfServiceLockedUntil, u.FrozenAt = utcOrZero(lockedUntil), utcOrZero(frozen)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	if err := json.Unmarshal(enrollment, &u.Enrollment); err != nil {
		return tenants.User{}, fmt.Errorf("decode user %s enrollment: %w", u.ID, err)
	}
	return u, nil
}

// userSelfService returns the self-service columns of u (enrollment JSON,
// failed verifications, locked until, frozen at, push history) and
// normalises u's times and push history to what is read back later.
func userSelfService(u *tenants.User) ([]any, error) {
	if err := check.User(*u); err != nil {
		return nil, err
	}
	enrollment, err := json.Marshal(u.Enrollment)
	if err != nil {
		return nil, fmt.Errorf("encode enrollment: %w", err)
	}
	u.SelfServiceLockedUntil, u.FrozenAt = storedOrZero(u.SelfServiceLockedUntil), storedOrZero(u.FrozenAt)
	u.PushHistory = check.Bytes(u.PushHistory)
	return []any{string(enrollment), u.FailedVerifications, nullTime(u.SelfServiceLockedUntil), nullTime(u.FrozenAt),
		check.NullBytes(u.PushHistory)}, nil
}

// storedOrZero is storedTime that keeps the zero time zero.
func storedOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return storedTime(t)
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return storedTime(t)
}

// utcOrZero reads a nullable timestamp: NULL is the zero time.
func utcOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

const auditColumns = `tenant_id, seq, at, actor, action, target, ip, user_agent, outcome,
	correlation_id, detail, prev_hash, hash`

func scanAudit(row pgx.Row) (tenants.AuditEvent, error) {
	var (
		e      tenants.AuditEvent
		tid    string
		detail []byte
		at     time.Time
	)
	err := row.Scan(&tid, &e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.IP, &e.UserAgent,
		&e.Outcome, &e.CorrelationID, &detail, &e.PrevHash, &e.Hash)
	if err != nil {
		return tenants.AuditEvent{}, err
	}
	e.TenantID, e.Time = tenants.ID(tid), at.UTC()
	if err := json.Unmarshal(detail, &e.Detail); err != nil {
		return tenants.AuditEvent{}, fmt.Errorf("decode audit event %d detail: %w", e.Seq, err)
	}
	return e, nil
}

// detailDoc returns the JSON object of an audit event's detail.
func detailDoc(d map[string]string) (string, error) {
	if d == nil {
		return "{}", nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode audit detail: %w", err)
	}
	return string(b), nil
}

// collect scans every row with scan.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
