package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// CreateUser stores a user's enrollment record. Its organisation, if any, must
// be one of the tenant's.
func (ts tenantStore) CreateUser(ctx context.Context, u tenants.User) (tenants.User, error) {
	if err := validateUser(u); err != nil {
		return tenants.User{}, fmt.Errorf("create user: %w", err)
	}
	selfService, err := userSelfService(&u)
	if err != nil {
		return tenants.User{}, fmt.Errorf("create user: %w", err)
	}
	id, err := ts.s.newID()
	if err != nil {
		return tenants.User{}, fmt.Errorf("create user: %w", err)
	}
	err = ts.run(ctx, func(tx pgx.Tx) error {
		if err := ts.mustExist(ctx, tx); err != nil {
			return err
		}
		if u.OrganisationID != "" {
			if err := ts.mustHaveOrg(ctx, tx, u.OrganisationID); err != nil {
				return err
			}
		}
		now := ts.s.timestamp()
		u.TenantID, u.ID, u.CreatedAt, u.UpdatedAt = tenants.ID(ts.id), id, now, now
		_, err := tx.Exec(ctx, `INSERT INTO users (`+userColumns+`, username_lower)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19, $20)`,
			append(append([]any{ts.id, u.ID, nullable(u.DirectoryGUID), u.Username, u.UPN, u.DisplayName,
				nullable(u.OrganisationID), u.Email, u.EmailVerified, u.Phone, u.PhoneVerified, u.Locale, u.IsAdmin},
				selfService...), now, usernameKey(u.Username))...)
		return classify(err)
	})
	if err != nil {
		return tenants.User{}, fmt.Errorf("create user %q: %w", u.Username, err)
	}
	return u, nil
}

// usernameKey is the case-insensitive form usernames are unique and found by.
func usernameKey(username string) string { return strings.ToLower(username) }

// mustExist returns ErrNotFound when the tenant does not exist.
func (ts tenantStore) mustExist(ctx context.Context, tx pgx.Tx) error {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE tenant_id = $1)`, ts.id).Scan(&ok)
	if err != nil {
		return fmt.Errorf("check tenant: %w", classify(err))
	}
	if !ok {
		return fmt.Errorf("tenant: %w", store.ErrNotFound)
	}
	return nil
}

// getUser returns the one user matching column = value.
func (ts tenantStore) getUser(ctx context.Context, column, value string) (tenants.User, error) {
	var u tenants.User
	err := ts.run(ctx, func(tx pgx.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx,
			`SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND `+column+` = $2`, ts.id, value))
		return err
	})
	return u, classify(err)
}

// GetUser returns one of the tenant's users by id.
func (ts tenantStore) GetUser(ctx context.Context, id string) (tenants.User, error) {
	if !validID(id) {
		return tenants.User{}, fmt.Errorf("get user %q: %w", id, store.ErrNotFound)
	}
	u, err := ts.getUser(ctx, "user_id", id)
	if err != nil {
		return tenants.User{}, fmt.Errorf("get user %q: %w", id, err)
	}
	return u, nil
}

// GetUserByUsername finds a user by username, ignoring case.
func (ts tenantStore) GetUserByUsername(ctx context.Context, username string) (tenants.User, error) {
	u, err := ts.getUser(ctx, "username_lower", usernameKey(username))
	if err != nil {
		return tenants.User{}, fmt.Errorf("get user by username %q: %w", username, err)
	}
	return u, nil
}

// GetUserByDirectoryGUID finds a user by the directory's stable id.
func (ts tenantStore) GetUserByDirectoryGUID(ctx context.Context, guid string) (tenants.User, error) {
	if guid == "" {
		return tenants.User{}, fmt.Errorf("get user by directory GUID: %w", store.ErrNotFound)
	}
	u, err := ts.getUser(ctx, "directory_guid", guid)
	if err != nil {
		return tenants.User{}, fmt.Errorf("get user by directory GUID %q: %w", guid, err)
	}
	return u, nil
}

// ListUsers returns up to limit users ordered by username ignoring case,
// after the given username (compared ignoring case too).
func (ts tenantStore) ListUsers(ctx context.Context, after string, limit int) ([]tenants.User, error) {
	if !validID(ts.id) || limit <= 0 {
		return nil, nil
	}
	var out []tenants.User
	err := ts.run(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+userColumns+` FROM users
			WHERE tenant_id = $1 AND username_lower > $2 ORDER BY username_lower LIMIT $3`,
			ts.id, usernameKey(after), limit)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanUser)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", classify(err))
	}
	return out, nil
}

// UpdateUser applies fn under the user's row lock and saves the result.
func (ts tenantStore) UpdateUser(ctx context.Context, id string, fn func(*tenants.User) error) (tenants.User, error) {
	if !validID(id) {
		return tenants.User{}, fmt.Errorf("update user %q: %w", id, store.ErrNotFound)
	}
	var out tenants.User
	err := ts.run(ctx, func(tx pgx.Tx) error {
		cur, err := scanUser(tx.QueryRow(ctx,
			`SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND user_id = $2 FOR NO KEY UPDATE`, ts.id, id))
		if err != nil {
			return classify(err)
		}
		tenantID, created, oldOrg := cur.TenantID, cur.CreatedAt, cur.OrganisationID
		next := cur
		if err := fn(&next); err != nil {
			return err
		}
		next.TenantID, next.ID, next.CreatedAt = tenantID, id, created
		if err := validateUser(next); err != nil {
			return err
		}
		if next.OrganisationID != "" && next.OrganisationID != oldOrg {
			if err := ts.mustHaveOrg(ctx, tx, next.OrganisationID); err != nil {
				return err
			}
		}
		selfService, err := userSelfService(&next)
		if err != nil {
			return err
		}
		next.UpdatedAt = ts.s.timestamp()
		_, err = tx.Exec(ctx, `UPDATE users SET directory_guid = $3, username = $4, username_lower = $5,
				upn = $6, display_name = $7, org_id = $8, email = $9, email_verified = $10, phone = $11,
				phone_verified = $12, locale = $13, is_admin = $14, updated_at = $15, enrollment = $16,
				failed_verifications = $17, selfservice_locked_until = $18, frozen_at = $19, push_history = $20
			WHERE tenant_id = $1 AND user_id = $2`,
			append([]any{ts.id, id, nullable(next.DirectoryGUID), next.Username, usernameKey(next.Username), next.UPN,
				next.DisplayName, nullable(next.OrganisationID), next.Email, next.EmailVerified, next.Phone,
				next.PhoneVerified, next.Locale, next.IsAdmin, next.UpdatedAt}, selfService...)...)
		if err != nil {
			return classify(err)
		}
		out = next
		return nil
	})
	if err != nil {
		return tenants.User{}, fmt.Errorf("update user %q: %w", id, err)
	}
	return out, nil
}

// DeleteUser deletes one of the tenant's users.
func (ts tenantStore) DeleteUser(ctx context.Context, id string) error {
	if !validID(id) {
		return fmt.Errorf("delete user %q: %w", id, store.ErrNotFound)
	}
	err := ts.run(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE tenant_id = $1 AND user_id = $2`, ts.id, id)
		if err != nil {
			return classify(err)
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete user %q: %w", id, err)
	}
	return nil
}
