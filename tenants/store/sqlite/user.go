package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/internal/check"
)

const userColumns = `user_id, directory_guid, username, upn, display_name, org_id, email, email_verified,
	phone, phone_verified, locale, is_admin, enrollment, failed_verifications, selfservice_locked_until,
	frozen_at, push_history, created_at, updated_at`

func (ts tenantStore) scanUser(r scanner) (tenants.User, error) {
	u := tenants.User{TenantID: tenants.ID(ts.id)}
	var guid, org sql.NullString
	var enrollment string
	var lockedUntil, frozen sql.NullInt64
	var created, updated int64
	if err := r.Scan(&u.ID, &guid, &u.Username, &u.UPN, &u.DisplayName, &org, &u.Email, &u.EmailVerified,
		&u.Phone, &u.PhoneVerified, &u.Locale, &u.IsAdmin, &enrollment, &u.FailedVerifications, &lockedUntil,
		&frozen, &u.PushHistory, &created, &updated); err != nil {
		return u, err
	}
	if err := fromJSONText("user enrollment", enrollment, &u.Enrollment); err != nil {
		return u, err
	}
	u.DirectoryGUID, u.OrganisationID = guid.String, org.String
	u.PushHistory = check.Bytes(u.PushHistory)
	u.SelfServiceLockedUntil, u.FrozenAt = fromNullNanos(lockedUntil), fromNullNanos(frozen)
	u.CreatedAt, u.UpdatedAt = fromNanos(created), fromNanos(updated)
	return u, nil
}

// userArgs returns the columns set by both insert and update, in the order of
// the statements below. It normalises u's caller-supplied times to what is
// read back later.
func userArgs(u *tenants.User) ([]any, error) {
	if err := check.User(*u); err != nil {
		return nil, err
	}
	enrollment, err := jsonText("user enrollment", u.Enrollment)
	if err != nil {
		return nil, err
	}
	lockedUntil, err := nullNanos("self-service locked until", u.SelfServiceLockedUntil)
	if err != nil {
		return nil, err
	}
	frozen, err := nullNanos("frozen at", u.FrozenAt)
	if err != nil {
		return nil, err
	}
	u.SelfServiceLockedUntil, u.FrozenAt = normal(u.SelfServiceLockedUntil), normal(u.FrozenAt)
	u.PushHistory = check.Bytes(u.PushHistory)
	return []any{nullable(u.DirectoryGUID), u.Username, strings.ToLower(u.Username), u.UPN, u.DisplayName,
		nullable(u.OrganisationID), u.Email, boolInt(u.EmailVerified), u.Phone, boolInt(u.PhoneVerified),
		u.Locale, boolInt(u.IsAdmin), enrollment, u.FailedVerifications, lockedUntil, frozen,
		check.NullBytes(u.PushHistory), u.UpdatedAt.UnixNano()}, nil
}

// checkOrg refuses an organisation that is not the tenant's own. The foreign
// key (tenant_id, org_id) would too; checking first gives a clear error.
func (ts tenantStore) checkOrg(ctx context.Context, tx *sql.Tx, org string) error {
	if org == "" {
		return nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM organisations WHERE tenant_id = ? AND org_id = ?`,
		ts.id, org).Scan(&n); err != nil {
		return fmt.Errorf("check organisation: %w", err)
	}
	if n == 0 {
		return invalidf("organisation %q is not one of the tenant's", org)
	}
	return nil
}

// CreateUser stores a user's enrollment record.
func (ts tenantStore) CreateUser(ctx context.Context, u tenants.User) (tenants.User, error) {
	if err := validateUser(u); err != nil {
		return tenants.User{}, fmt.Errorf("create user: %w", err)
	}
	now := ts.s.clock()
	u.TenantID, u.ID, u.CreatedAt, u.UpdatedAt = tenants.ID(ts.id), uuid.NewString(), now, now
	args, err := userArgs(&u)
	if err != nil {
		return tenants.User{}, fmt.Errorf("create user: %w", err)
	}
	err = ts.s.write(ctx, func(tx *sql.Tx) error {
		if err := ts.exists(ctx, tx); err != nil {
			return err
		}
		if err := ts.checkOrg(ctx, tx, u.OrganisationID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO users (tenant_id, user_id, created_at, directory_guid, username,
			username_lower, upn, display_name, org_id, email, email_verified, phone, phone_verified, locale, is_admin,
			enrollment, failed_verifications, selfservice_locked_until, frozen_at, push_history,
			updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			append([]any{ts.id, u.ID, now.UnixNano()}, args...)...)
		return mapErr("insert user", err)
	})
	if err != nil {
		return tenants.User{}, fmt.Errorf("create user %q in tenant %s: %w", u.Username, ts.id, err)
	}
	return u, nil
}

func (ts tenantStore) userWhere(ctx context.Context, q querier, what, cond string, arg any) (tenants.User, error) {
	u, err := ts.scanUser(q.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE tenant_id = ? AND `+cond, ts.id, arg))
	if err != nil {
		return tenants.User{}, mapErr(fmt.Sprintf("get user by %s of tenant %s", what, ts.id), err)
	}
	return u, nil
}

// GetUser returns one of the tenant's users by id.
func (ts tenantStore) GetUser(ctx context.Context, id string) (tenants.User, error) {
	return ts.userWhere(ctx, ts.s.db, "id", "user_id = ?", id)
}

// GetUserByUsername matches the username case-insensitively.
func (ts tenantStore) GetUserByUsername(ctx context.Context, username string) (tenants.User, error) {
	return ts.userWhere(ctx, ts.s.db, "username", "username_lower = ?", strings.ToLower(username))
}

// GetUserByDirectoryGUID finds a user by objectGUID/entryUUID.
func (ts tenantStore) GetUserByDirectoryGUID(ctx context.Context, guid string) (tenants.User, error) {
	return ts.userWhere(ctx, ts.s.db, "directory GUID", "directory_guid = ?", guid)
}

// ListUsers returns up to limit users ordered by username (case-insensitively),
// after the given username.
func (ts tenantStore) ListUsers(ctx context.Context, after string, limit int) ([]tenants.User, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("list users: limit %d: %w", limit, store.ErrInvalid)
	}
	rows, err := ts.s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE tenant_id = ? AND username_lower > ? ORDER BY username_lower LIMIT ?`,
		ts.id, strings.ToLower(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list users of tenant %s: %w", ts.id, err)
	}
	defer rows.Close()
	var out []tenants.User
	for rows.Next() {
		u, err := ts.scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users of tenant %s: %w", ts.id, err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users of tenant %s: %w", ts.id, err)
	}
	return out, nil
}

// UpdateUser loads a user, applies fn and saves it, in one IMMEDIATE
// transaction.
func (ts tenantStore) UpdateUser(ctx context.Context, id string, fn func(*tenants.User) error) (tenants.User, error) {
	var out tenants.User
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		old, err := ts.userWhere(ctx, tx, "id", "user_id = ?", id)
		if err != nil {
			return err
		}
		u := old
		if err := fn(&u); err != nil {
			return err
		}
		u.TenantID, u.ID, u.CreatedAt = old.TenantID, old.ID, old.CreatedAt
		u.UpdatedAt = ts.s.clock()
		if err := validateUser(u); err != nil {
			return err
		}
		if err := ts.checkOrg(ctx, tx, u.OrganisationID); err != nil {
			return err
		}
		args, err := userArgs(&u)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET directory_guid = ?, username = ?, username_lower = ?,
			upn = ?, display_name = ?, org_id = ?, email = ?, email_verified = ?, phone = ?, phone_verified = ?,
			locale = ?, is_admin = ?, enrollment = ?, failed_verifications = ?, selfservice_locked_until = ?,
			frozen_at = ?, push_history = ?, updated_at = ? WHERE tenant_id = ? AND user_id = ? AND updated_at = ?`,
			append(args, ts.id, id, old.UpdatedAt.UnixNano())...)
		if err != nil {
			return mapErr("update user", err)
		}
		if err := affected("update user", res); err != nil {
			return fmt.Errorf("update user: %w", store.ErrConflict)
		}
		out = u
		return nil
	})
	if err != nil {
		return tenants.User{}, fmt.Errorf("update user %q of tenant %s: %w", id, ts.id, err)
	}
	return out, nil
}

// DeleteUser deletes one of the tenant's users.
func (ts tenantStore) DeleteUser(ctx context.Context, id string) error {
	err := ts.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE tenant_id = ? AND user_id = ?`, ts.id, id)
		if err != nil {
			return mapErr("delete user", err)
		}
		return affected("delete user", res)
	})
	if err != nil {
		return fmt.Errorf("delete user %q of tenant %s: %w", id, ts.id, err)
	}
	return nil
}
