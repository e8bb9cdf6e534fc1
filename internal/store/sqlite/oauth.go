package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

const oauthClientCols = `o.id, o.tenant, o.client_id, c.app_name, c.app_version, o.builtin, c.enabled, o.created, o.updated`

func scanOAuthClient(s scanner, c *store.OAuthClient) error {
	var created, updated int64
	if err := s.Scan(&c.ID, &c.Tenant, &c.ClientID, &c.AppName, &c.AppVersion, &c.Builtin, &c.Enabled, &created, &updated); err != nil {
		return err
	}
	c.Created, c.Updated = fromMicros(created), fromMicros(updated)
	return nil
}

// GetOAuthClient implements store.OAuthClientStore.
func (db *DB) GetOAuthClient(ctx context.Context, tenant, clientID string) (store.OAuthClient, error) {
	var c store.OAuthClient
	err := db.getOne(ctx, "get oauth client", `SELECT `+oauthClientCols+` FROM oauth_clients o
		JOIN clients c ON c.tenant = o.tenant AND c.client_id = o.client_id
		WHERE o.tenant = ? AND o.client_id = ?`, func(s scanner) error { return scanOAuthClient(s, &c) }, tenant, clientID)
	return c, err
}

// ListOAuthClients implements store.OAuthClientStore.
func (db *DB) ListOAuthClients(ctx context.Context, tenant string) ([]store.OAuthClient, error) {
	var out []store.OAuthClient
	err := db.queryRows(ctx, "list oauth clients", `SELECT `+oauthClientCols+` FROM oauth_clients o
		JOIN clients c ON c.tenant = o.tenant AND c.client_id = o.client_id
		WHERE o.tenant = ? ORDER BY o.client_id`, sqlstore.Collect(&out, scanOAuthClient), tenant)
	return out, err
}

const deviceCols = `id, device_code_hash, user_code, tenant, client_id, scope, state, username, session_hash, signed_in_at,
	days, interval_seconds, expires_at, last_poll_at, last_poll_style, failed_signins, created, updated`

func scanDevice(s scanner, d *store.DeviceAuthorization) error {
	var (
		username, session         sql.NullString
		signedIn, lastPoll        sql.NullInt64
		expires, created, updated int64
		state, style              string
	)
	if err := s.Scan(&d.ID, &d.DeviceCodeHash, &d.UserCode, &d.Tenant, &d.ClientID, &d.Scope, &state, &username, &session, &signedIn,
		&d.Days, &d.IntervalSeconds, &expires, &lastPoll, &style, &d.FailedSignIns, &created, &updated); err != nil {
		return err
	}
	d.State, d.LastPollStyle = store.DeviceState(state), store.PollStyle(style)
	d.Username, d.SessionHash = username.String, session.String
	d.SignedInAt, d.LastPollAt = optMicros(signedIn), optMicros(lastPoll)
	d.ExpiresAt, d.Created, d.Updated = fromMicros(expires), fromMicros(created), fromMicros(updated)
	return nil
}

// optMicros converts a nullable time column; NULL is the zero time.
func optMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// nullMicros is the column value of an optional time: NULL for the zero time.
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micros(t)
}

// nullText is the column value of an optional text: NULL for "".
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateDeviceAuthorization implements store.DeviceStore.
func (db *DB) CreateDeviceAuthorization(ctx context.Context, d store.DeviceAuthorization, q store.DeviceQuota) error {
	return db.w.do(ctx, func(tx *wtx) error {
		if !q.PruneBefore.IsZero() {
			if _, err := tx.exec("delete expired device authorizations", `DELETE FROM device_authorizations
				WHERE tenant = ? AND expires_at < ?`, d.Tenant, micros(q.PruneBefore)); err != nil {
				return err
			}
		}
		if q.MaxLive > 0 {
			var live int
			if err := tx.queryRow("count live device authorizations", `SELECT count(*) FROM device_authorizations
				WHERE tenant = ? AND expires_at > ?`, func(s scanner) error { return s.Scan(&live) },
				d.Tenant, micros(q.Now)); err != nil {
				return err
			}
			if live >= q.MaxLive {
				return fmt.Errorf("insert device authorization: tenant %s has %d live: %w", d.Tenant, live, store.ErrFull)
			}
		}
		_, err := tx.exec("insert device authorization", `INSERT INTO device_authorizations(device_code_hash, user_code,
			tenant, client_id, scope, state, username, session_hash, signed_in_at, days, interval_seconds, expires_at, last_poll_at,
			last_poll_style, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.DeviceCodeHash, d.UserCode, d.Tenant, d.ClientID, d.Scope, string(d.State), nullText(d.Username), nullText(d.SessionHash),
			nullMicros(d.SignedInAt), d.Days, d.IntervalSeconds, micros(d.ExpiresAt), nullMicros(d.LastPollAt), string(d.LastPollStyle),
			micros(d.Created), micros(d.Updated))
		return err
	})
}

// FailDeviceSignIn implements store.DeviceStore.
func (db *DB) FailDeviceSignIn(ctx context.Context, userCode string, budget int32, now time.Time) (store.DeviceAuthorization, error) {
	var out store.DeviceAuthorization
	err := db.w.do(ctx, func(tx *wtx) error {
		return tx.queryRow("count failed device sign-in", `UPDATE device_authorizations
			SET failed_signins = failed_signins + 1, updated = ?1,
				state = CASE WHEN failed_signins + 1 >= ?2 THEN 'denied' ELSE state END
			WHERE user_code = ?3 AND state = 'pending' AND expires_at > ?1
			RETURNING `+deviceCols, func(s scanner) error { return scanDevice(s, &out) }, micros(now), budget, userCode)
	})
	return out, err
}

// GetDeviceAuthorization implements store.DeviceStore.
func (db *DB) GetDeviceAuthorization(ctx context.Context, userCode string) (store.DeviceAuthorization, error) {
	var d store.DeviceAuthorization
	err := db.getOne(ctx, "get device authorization", `SELECT `+deviceCols+` FROM device_authorizations WHERE user_code = ?`,
		func(s scanner) error { return scanDevice(s, &d) }, userCode)
	return d, err
}

// BindDeviceAuthorization implements store.DeviceStore.
func (db *DB) BindDeviceAuthorization(ctx context.Context, b store.DeviceBinding) (int64, error) {
	return db.writeCount(ctx, "bind device authorization", `UPDATE device_authorizations
		SET username = ?1, session_hash = ?2, signed_in_at = ?3, updated = ?4
		WHERE user_code = ?5 AND state = 'pending' AND expires_at > ?4 AND (?6 = '' OR session_hash = ?6)`,
		b.Username, b.SessionHash, nullMicros(b.SignedInAt), micros(b.Now), b.UserCode, b.ExpectSessionHash)
}

// DecideDeviceAuthorization implements store.DeviceStore.
func (db *DB) DecideDeviceAuthorization(ctx context.Context, d store.DeviceDecision) (store.DeviceAuthorization, error) {
	state, days := store.DeviceDenied, int32(0)
	if d.Approve {
		state, days = store.DeviceApproved, d.Days
	}
	var out store.DeviceAuthorization
	err := db.w.do(ctx, func(tx *wtx) error {
		if err := tx.queryRow("decide device authorization", `UPDATE device_authorizations SET state = ?1, days = ?2, updated = ?3
			WHERE user_code = ?4 AND state = 'pending' AND expires_at > ?3 AND username = ?5 AND session_hash = ?6
			AND signed_in_at IS NOT NULL
			RETURNING `+deviceCols, func(s scanner) error { return scanDevice(s, &out) },
			string(state), days, micros(d.Now), d.UserCode, d.Username, d.SessionHash); err != nil {
			return err
		}
		if !d.Approve {
			return nil
		}
		return extendDelegation(tx, store.DelegationKey{Tenant: out.Tenant, ClientID: out.ClientID, ClientUserID: out.Username},
			d.DelegationExpiresAt, d.Now)
	})
	if err != nil {
		return store.DeviceAuthorization{}, err
	}
	return out, nil
}

// extendDelegation makes the delegation expire no earlier than expiresAt,
// creating it when it is missing. The existing row is changed by an UPDATE
// statement so that the read cache sees the change.
func extendDelegation(tx *wtx, k store.DelegationKey, expiresAt, now time.Time) error {
	if _, err := tx.exec("extend delegation", `UPDATE delegations SET expires_at = ?, updated = ?
		WHERE tenant = ? AND client_id = ? AND client_user_id = ? AND expires_at < ?`,
		micros(expiresAt), micros(now), k.Tenant, k.ClientID, k.ClientUserID, micros(expiresAt)); err != nil {
		return err
	}
	_, err := tx.exec("create delegation", `INSERT INTO delegations(tenant, client_id, client_user_id, expires_at, created, updated)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, k.Tenant, k.ClientID, k.ClientUserID, micros(expiresAt), micros(now), micros(now))
	return err
}

// TouchDeviceAuthorization implements store.DeviceStore.
func (db *DB) TouchDeviceAuthorization(ctx context.Context, deviceCodeHash, clientID string, style store.PollStyle,
	record func(before store.DeviceAuthorization) (time.Time, bool)) (store.DeviceAuthorization, error) {
	var before store.DeviceAuthorization
	err := db.w.do(ctx, func(tx *wtx) error {
		if err := tx.queryRow("read device authorization", `SELECT `+deviceCols+` FROM device_authorizations
			WHERE device_code_hash = ? AND client_id = ?`, func(s scanner) error { return scanDevice(s, &before) },
			deviceCodeHash, clientID); err != nil {
			return err
		}
		at, ok := record(before)
		if !ok {
			return nil
		}
		_, err := tx.exec("record device poll", `UPDATE device_authorizations SET last_poll_at = ?, last_poll_style = ? WHERE id = ?`,
			micros(at), string(style), before.ID)
		return err
	})
	if err != nil {
		return store.DeviceAuthorization{}, err
	}
	return before, nil
}

// RedeemDeviceAuthorization implements store.DeviceStore.
func (db *DB) RedeemDeviceAuthorization(ctx context.Context, deviceCodeHash, clientID string, tokens store.NewTokens, now time.Time) (store.DeviceAuthorization, error) {
	var out store.DeviceAuthorization
	err := db.w.do(ctx, func(tx *wtx) error {
		if err := tx.queryRow("redeem device authorization", `UPDATE device_authorizations SET state = 'redeemed', updated = ?1
			WHERE device_code_hash = ?2 AND client_id = ?3 AND state = 'approved' AND expires_at > ?1
			RETURNING `+deviceCols, func(s scanner) error { return scanDevice(s, &out) }, micros(now), deviceCodeHash, clientID); err != nil {
			return err
		}
		return insertTokens(tx, out.Tenant, out.ClientID, out.Username, tokens, now)
	})
	if err != nil {
		return store.DeviceAuthorization{}, err
	}
	return out, nil
}

// insertTokens stores an access token and a refresh token of one family.
func insertTokens(tx *wtx, tenant, clientID, username string, t store.NewTokens, now time.Time) error {
	const insert = `INSERT INTO oauth_tokens(token_hash, kind, family, tenant, client_id, username, expires_at, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	if _, err := tx.exec("insert access token", insert, t.AccessHash, string(store.AccessToken), t.Family, tenant, clientID, username,
		micros(t.AccessExpiresAt), micros(now)); err != nil {
		return err
	}
	_, err := tx.exec("insert refresh token", insert, t.RefreshHash, string(store.RefreshToken), t.Family, tenant, clientID, username,
		micros(t.RefreshExpiresAt), micros(now))
	return err
}

const tokenCols = `k.id, k.token_hash, k.kind, k.family, k.tenant, k.client_id, k.username, k.expires_at, k.rotated_at, k.revoked_at, k.created`

func tokenDest(t *store.Token, kind *string, expires, created *int64, rotated, revoked *sql.NullInt64) []any {
	return []any{&t.ID, &t.Hash, kind, &t.Family, &t.Tenant, &t.ClientID, &t.Username, expires, rotated, revoked, created}
}

func scanToken(s scanner, t *store.Token) error {
	var (
		kind             string
		expires, created int64
		rotated, revoked sql.NullInt64
	)
	if err := s.Scan(tokenDest(t, &kind, &expires, &created, &rotated, &revoked)...); err != nil {
		return err
	}
	t.Kind = store.TokenKind(kind)
	t.ExpiresAt, t.Created = fromMicros(expires), fromMicros(created)
	t.RotatedAt, t.RevokedAt = optMicros(rotated), optMicros(revoked)
	return nil
}

// GetToken implements store.DeviceStore.
func (db *DB) GetToken(ctx context.Context, hash string) (store.TokenState, error) {
	var (
		ts                        store.TokenState
		kind                      string
		expires, created          int64
		rotated, revoked          sql.NullInt64
		delID, delExp, delCreated sql.NullInt64
	)
	err := db.getOne(ctx, "get token", `SELECT `+tokenCols+`, t.enabled, c.enabled, u.enabled, d.id, d.expires_at, d.created
		FROM oauth_tokens k
		JOIN tenants t ON t.tenant = k.tenant
		JOIN clients c ON c.tenant = k.tenant AND c.client_id = k.client_id
		JOIN users u ON u.tenant = k.tenant AND u.username = k.username
		LEFT JOIN delegations d ON d.tenant = k.tenant AND d.client_id = k.client_id AND d.client_user_id = k.username
		WHERE k.token_hash = ?`, func(s scanner) error {
		dest := append(tokenDest(&ts.Token, &kind, &expires, &created, &rotated, &revoked),
			&ts.TenantEnabled, &ts.ClientEnabled, &ts.UserEnabled, &delID, &delExp, &delCreated)
		return s.Scan(dest...)
	}, hash)
	if err != nil {
		return store.TokenState{}, err
	}
	t := &ts.Token
	t.Kind = store.TokenKind(kind)
	t.ExpiresAt, t.Created = fromMicros(expires), fromMicros(created)
	t.RotatedAt, t.RevokedAt = optMicros(rotated), optMicros(revoked)
	if delID.Valid {
		ts.Delegation = store.Delegation{ID: delID.Int64, Tenant: t.Tenant, ClientID: t.ClientID, ClientUserID: t.Username,
			ExpiresAt: fromMicros(delExp.Int64), Created: fromMicros(delCreated.Int64)}
	}
	return ts, nil
}

// RotateRefreshToken implements store.DeviceStore.
func (db *DB) RotateRefreshToken(ctx context.Context, oldHash, clientID string, tokens store.NewTokens, now time.Time) (store.Rotation, store.Token, error) {
	var (
		outcome store.Rotation
		old     store.Token
	)
	err := db.w.do(ctx, func(tx *wtx) error {
		outcome, old = 0, store.Token{}
		err := tx.queryRow("read refresh token", `SELECT `+tokenCols+` FROM oauth_tokens k
			WHERE k.token_hash = ? AND k.kind = 'refresh' AND k.client_id = ?`, func(s scanner) error { return scanToken(s, &old) },
			oldHash, clientID)
		if isNotFound(err) {
			outcome = store.RotationNotFound
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case !old.RevokedAt.IsZero():
			outcome = store.RotationRevoked
			return nil
		case !old.RotatedAt.IsZero():
			outcome = store.RotationReused
			_, err := tx.exec("revoke token family", `UPDATE oauth_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL`,
				micros(now), old.Family)
			return err
		case !old.ExpiresAt.After(now):
			outcome = store.RotationExpired
			return nil
		}
		if _, err := tx.exec("spend refresh token", `UPDATE oauth_tokens SET rotated_at = ? WHERE id = ?`, micros(now), old.ID); err != nil {
			return err
		}
		tokens.Family = old.Family
		if err := insertTokens(tx, old.Tenant, old.ClientID, old.Username, tokens, now); err != nil {
			return err
		}
		outcome = store.Rotated
		return nil
	})
	if err != nil {
		return 0, store.Token{}, err
	}
	return outcome, old, nil
}

// RevokeTokenFamily implements store.DeviceStore.
func (db *DB) RevokeTokenFamily(ctx context.Context, hash, clientID string, now time.Time) (int64, error) {
	return db.writeCount(ctx, "revoke token family", `UPDATE oauth_tokens SET revoked_at = ?
		WHERE revoked_at IS NULL AND family = (SELECT family FROM oauth_tokens WHERE token_hash = ? AND client_id = ?)`,
		micros(now), hash, clientID)
}

// RevokeUserTokens implements store.DeviceStore.
func (db *DB) RevokeUserTokens(ctx context.Context, tenant, clientID, username string, now time.Time) (int64, error) {
	return db.writeCount(ctx, "revoke user tokens", `UPDATE oauth_tokens SET revoked_at = ?
		WHERE tenant = ? AND username = ? AND client_id = ? AND revoked_at IS NULL`, micros(now), tenant, username, clientID)
}

// DeleteExpiredOAuth implements store.DeviceStore.
func (db *DB) DeleteExpiredOAuth(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	err := db.w.do(ctx, func(tx *wtx) error {
		total = 0
		for _, q := range []string{
			`DELETE FROM device_authorizations WHERE expires_at < ?`,
			`DELETE FROM oauth_tokens WHERE expires_at < ?`,
		} {
			n, err := tx.exec("delete expired oauth records", q, micros(cutoff))
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	return total, err
}
