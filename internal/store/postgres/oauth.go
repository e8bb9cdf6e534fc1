package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

const oauthClientCols = `o.id, o.tenant, o.client_id, c.app_name, c.app_version, o.builtin, c.enabled, o.created, o.updated`

func scanOAuthClient(s scanner, c *store.OAuthClient) error {
	return s.Scan(&c.ID, &c.Tenant, &c.ClientID, &c.AppName, &c.AppVersion, &c.Builtin, &c.Enabled, &c.Created, &c.Updated)
}

// queueOAuthClient queues the inserts of a public client: its clients row,
// then its OAuth client record.
// GetOAuthClient implements store.OAuthClientStore.
func (db *DB) GetOAuthClient(ctx context.Context, tenant, clientID string) (store.OAuthClient, error) {
	var c store.OAuthClient
	err := db.queryOne(ctx, "get oauth client", `SELECT `+oauthClientCols+` FROM oauth_clients o
		JOIN clients c ON c.tenant = o.tenant AND c.client_id = o.client_id
		WHERE o.tenant = $1 AND o.client_id = $2`, func(s scanner) error { return scanOAuthClient(s, &c) }, tenant, clientID)
	return c, err
}

// ListOAuthClients implements store.OAuthClientStore.
func (db *DB) ListOAuthClients(ctx context.Context, tenant string) ([]store.OAuthClient, error) {
	var out []store.OAuthClient
	err := db.queryAll(ctx, "list oauth clients", `SELECT `+oauthClientCols+` FROM oauth_clients o
		JOIN clients c ON c.tenant = o.tenant AND c.client_id = o.client_id
		WHERE o.tenant = $1 ORDER BY o.client_id`, sqlstore.Collect(&out, scanOAuthClient), tenant)
	return out, err
}

const deviceCols = `id, device_code_hash, user_code, tenant, client_id, scope, state, username, session_hash, signed_in_at,
	days, interval_seconds, expires_at, last_poll_at, last_poll_style, failed_signins, created, updated`

func scanDevice(s scanner, d *store.DeviceAuthorization) error {
	var (
		username, session  *string
		signedIn, lastPoll *time.Time
		state, style       string
	)
	if err := s.Scan(&d.ID, &d.DeviceCodeHash, &d.UserCode, &d.Tenant, &d.ClientID, &d.Scope, &state, &username, &session, &signedIn,
		&d.Days, &d.IntervalSeconds, &d.ExpiresAt, &lastPoll, &style, &d.FailedSignIns, &d.Created, &d.Updated); err != nil {
		return err
	}
	d.State, d.LastPollStyle = store.DeviceState(state), store.PollStyle(style)
	d.Username, d.SessionHash = orZero(username), orZero(session)
	d.SignedInAt, d.LastPollAt = orZero(signedIn), orZero(lastPoll)
	return nil
}

// nullTime is the column value of an optional time: NULL for the zero time.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	m := store.Micro(t)
	return &m
}

// nullText is the column value of an optional text: NULL for "".
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// CreateDeviceAuthorization implements store.DeviceStore.
func (db *DB) CreateDeviceAuthorization(ctx context.Context, d store.DeviceAuthorization, q store.DeviceQuota) error {
	return db.runKeepCache(ctx, "insert device authorization", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) // a no-op after Commit
		// One tenant's insertions take turns, so that the count below
		// sees every insertion committed before.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('tms device quota'), hashtext($1))`, d.Tenant); err != nil {
			return err
		}
		if !q.PruneBefore.IsZero() {
			if _, err := tx.Exec(ctx, `DELETE FROM device_authorizations WHERE tenant = $1 AND expires_at < $2`,
				d.Tenant, store.Micro(q.PruneBefore)); err != nil {
				return err
			}
		}
		if q.MaxLive > 0 {
			var live int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM device_authorizations WHERE tenant = $1 AND expires_at > $2`,
				d.Tenant, store.Micro(q.Now)).Scan(&live); err != nil {
				return err
			}
			if live >= q.MaxLive {
				return fmt.Errorf("tenant %s has %d live: %w", d.Tenant, live, store.ErrFull)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO device_authorizations(device_code_hash, user_code,
			tenant, client_id, scope, state, username, session_hash, signed_in_at, days, interval_seconds, expires_at, last_poll_at,
			last_poll_style, created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			d.DeviceCodeHash, d.UserCode, d.Tenant, d.ClientID, d.Scope, string(d.State), nullText(d.Username), nullText(d.SessionHash),
			nullTime(d.SignedInAt), d.Days, d.IntervalSeconds, store.Micro(d.ExpiresAt), nullTime(d.LastPollAt), string(d.LastPollStyle),
			store.Micro(d.Created), store.Micro(d.Updated)); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// FailDeviceSignIn implements store.DeviceStore.
func (db *DB) FailDeviceSignIn(ctx context.Context, userCode string, budget int32, now time.Time) (store.DeviceAuthorization, error) {
	var out store.DeviceAuthorization
	err := db.queryOne(ctx, "count failed device sign-in", `UPDATE device_authorizations
		SET failed_signins = failed_signins + 1, updated = $1,
			state = CASE WHEN failed_signins + 1 >= $2 THEN 'denied' ELSE state END
		WHERE user_code = $3 AND state = 'pending' AND expires_at > $1
		RETURNING `+deviceCols, func(s scanner) error { return scanDevice(s, &out) }, store.Micro(now), budget, userCode)
	return out, err
}

// GetDeviceAuthorization implements store.DeviceStore.
func (db *DB) GetDeviceAuthorization(ctx context.Context, userCode string) (store.DeviceAuthorization, error) {
	var d store.DeviceAuthorization
	err := db.queryOne(ctx, "get device authorization", `SELECT `+deviceCols+` FROM device_authorizations WHERE user_code = $1`,
		func(s scanner) error { return scanDevice(s, &d) }, userCode)
	return d, err
}

// BindDeviceAuthorization implements store.DeviceStore.
func (db *DB) BindDeviceAuthorization(ctx context.Context, b store.DeviceBinding) (int64, error) {
	return db.exec(ctx, "bind device authorization", `UPDATE device_authorizations
		SET username = $1, session_hash = $2, signed_in_at = $3, updated = $4
		WHERE user_code = $5 AND state = 'pending' AND expires_at > $4 AND ($6 = '' OR session_hash = $6)`,
		b.Username, b.SessionHash, nullTime(b.SignedInAt), store.Micro(b.Now), b.UserCode, b.ExpectSessionHash)
}

// DecideDeviceAuthorization implements store.DeviceStore. The decision and
// the delegation it creates or extends are one statement; the delegation
// is extended only when that makes it expire later.
func (db *DB) DecideDeviceAuthorization(ctx context.Context, d store.DeviceDecision) (store.DeviceAuthorization, error) {
	state, days := store.DeviceDenied, int32(0)
	if d.Approve {
		state, days = store.DeviceApproved, d.Days
	}
	var out store.DeviceAuthorization
	err := db.queryOne(ctx, "decide device authorization", `WITH decided AS (
			UPDATE device_authorizations SET state = $1, days = $2, updated = $3
			WHERE user_code = $4 AND state = 'pending' AND expires_at > $3 AND username = $5 AND session_hash = $6
			AND signed_in_at IS NOT NULL
			RETURNING `+deviceCols+`),
		delegated AS (
			INSERT INTO delegations(tenant, client_id, client_user_id, expires_at, created, updated)
			SELECT tenant, client_id, username, $7, $3, $3 FROM decided WHERE $8
			ON CONFLICT (tenant, client_id, client_user_id)
			DO UPDATE SET expires_at = EXCLUDED.expires_at, updated = EXCLUDED.updated
			WHERE delegations.expires_at < EXCLUDED.expires_at)
		SELECT `+deviceCols+` FROM decided`,
		func(s scanner) error { return scanDevice(s, &out) },
		string(state), days, store.Micro(d.Now), d.UserCode, d.Username, d.SessionHash, store.Micro(d.DelegationExpiresAt), d.Approve)
	if err != nil {
		return store.DeviceAuthorization{}, err
	}
	return out, nil
}

// TouchDeviceAuthorization implements store.DeviceStore. The row is read
// with FOR UPDATE in a transaction, so concurrent polls of one device code
// take turns.
func (db *DB) TouchDeviceAuthorization(ctx context.Context, deviceCodeHash, clientID string, style store.PollStyle,
	record func(before store.DeviceAuthorization) (time.Time, bool)) (store.DeviceAuthorization, error) {
	var before store.DeviceAuthorization
	err := db.run(ctx, "record device poll", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) // a no-op after Commit
		if err := scanDevice(tx.QueryRow(ctx, `SELECT `+deviceCols+` FROM device_authorizations
			WHERE device_code_hash = $1 AND client_id = $2 FOR UPDATE`, deviceCodeHash, clientID), &before); err != nil {
			return err
		}
		if at, ok := record(before); ok {
			if _, err := tx.Exec(ctx, `UPDATE device_authorizations SET last_poll_at = $1, last_poll_style = $2 WHERE id = $3`,
				store.Micro(at), string(style), before.ID); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return store.DeviceAuthorization{}, err
	}
	return before, nil
}

// insertTokens inserts the access and the refresh token of a grant for the
// rows of the CTE named source, which has tenant, client_id and username
// columns. Arguments from $first: access hash, access expiry, refresh hash,
// refresh expiry, family, now.
func insertTokens(source string, first int) string {
	p := func(i int) string { return "$" + strconv.Itoa(first+i) }
	return `INSERT INTO oauth_tokens(token_hash, kind, family, tenant, client_id, username, expires_at, created)
		SELECT v.hash, v.kind, ` + p(4) + `, s.tenant, s.client_id, s.username, v.expires_at, ` + p(5) + ` FROM ` + source + ` s
		CROSS JOIN (VALUES (` + p(0) + `::text, 'access', ` + p(1) + `::timestamptz),
			(` + p(2) + `::text, 'refresh', ` + p(3) + `::timestamptz)) AS v(hash, kind, expires_at)`
}

func tokenArgs(t store.NewTokens, now time.Time) []any {
	return []any{t.AccessHash, store.Micro(t.AccessExpiresAt), t.RefreshHash, store.Micro(t.RefreshExpiresAt), t.Family, store.Micro(now)}
}

// RedeemDeviceAuthorization implements store.DeviceStore. The redemption
// and the token inserts are one statement; a concurrent redemption waits
// for the row and then finds it redeemed.
func (db *DB) RedeemDeviceAuthorization(ctx context.Context, deviceCodeHash, clientID string, tokens store.NewTokens, now time.Time) (store.DeviceAuthorization, error) {
	var out store.DeviceAuthorization
	args := append([]any{store.Micro(now), deviceCodeHash, clientID}, tokenArgs(tokens, now)...)
	err := db.queryOne(ctx, "redeem device authorization", `WITH redeemed AS (
			UPDATE device_authorizations SET state = 'redeemed', updated = $1
			WHERE device_code_hash = $2 AND client_id = $3 AND state = 'approved' AND expires_at > $1
			RETURNING `+deviceCols+`),
		issued AS (`+insertTokens("redeemed", 4)+`)
		SELECT `+deviceCols+` FROM redeemed`,
		func(s scanner) error { return scanDevice(s, &out) }, args...)
	if err != nil {
		return store.DeviceAuthorization{}, err
	}
	return out, nil
}

const tokenCols = `k.id, k.token_hash, k.kind, k.family, k.tenant, k.client_id, k.username, k.expires_at, k.rotated_at, k.revoked_at, k.created`

func tokenDest(t *store.Token, kind *string, rotated, revoked **time.Time) []any {
	return []any{&t.ID, &t.Hash, kind, &t.Family, &t.Tenant, &t.ClientID, &t.Username, &t.ExpiresAt, rotated, revoked, &t.Created}
}

func scanToken(s scanner, t *store.Token) error {
	var (
		kind             string
		rotated, revoked *time.Time
	)
	if err := s.Scan(tokenDest(t, &kind, &rotated, &revoked)...); err != nil {
		return err
	}
	t.Kind, t.RotatedAt, t.RevokedAt = store.TokenKind(kind), orZero(rotated), orZero(revoked)
	return nil
}

// GetToken implements store.DeviceStore.
func (db *DB) GetToken(ctx context.Context, hash string) (store.TokenState, error) {
	var ts store.TokenState
	err := db.queryOne(ctx, "get token", `SELECT `+tokenCols+`, t.enabled, c.enabled, u.enabled, d.id, d.expires_at, d.created
		FROM oauth_tokens k
		JOIN tenants t ON t.tenant = k.tenant
		JOIN clients c ON c.tenant = k.tenant AND c.client_id = k.client_id
		JOIN users u ON u.tenant = k.tenant AND u.username = k.username
		LEFT JOIN delegations d ON d.tenant = k.tenant AND d.client_id = k.client_id AND d.client_user_id = k.username
		WHERE k.token_hash = $1`, func(s scanner) error {
		var (
			kind               string
			rotated, revoked   *time.Time
			delID              *int64
			delExp, delCreated *time.Time
		)
		dest := append(tokenDest(&ts.Token, &kind, &rotated, &revoked),
			&ts.TenantEnabled, &ts.ClientEnabled, &ts.UserEnabled, &delID, &delExp, &delCreated)
		if err := s.Scan(dest...); err != nil {
			return err
		}
		t := &ts.Token
		t.Kind, t.RotatedAt, t.RevokedAt = store.TokenKind(kind), orZero(rotated), orZero(revoked)
		if delID != nil {
			ts.Delegation = store.Delegation{ID: *delID, Tenant: t.Tenant, ClientID: t.ClientID, ClientUserID: t.Username,
				ExpiresAt: orZero(delExp), Created: orZero(delCreated)}
		}
		return nil
	}, hash)
	return ts, err
}

// RotateRefreshToken implements store.DeviceStore.
func (db *DB) RotateRefreshToken(ctx context.Context, oldHash, clientID string, tokens store.NewTokens, now time.Time) (store.Rotation, store.Token, error) {
	var (
		outcome store.Rotation
		old     store.Token
	)
	err := db.run(ctx, "rotate refresh token", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) error {
		outcome, old = 0, store.Token{}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) // a no-op after Commit
		err = scanToken(tx.QueryRow(ctx, `SELECT `+tokenCols+` FROM oauth_tokens k
			WHERE k.token_hash = $1 AND k.kind = 'refresh' AND k.client_id = $2 FOR UPDATE`, oldHash, clientID), &old)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			outcome = store.RotationNotFound
			return tx.Commit(ctx)
		case err != nil:
			return err
		case !old.RevokedAt.IsZero():
			outcome = store.RotationRevoked
			return tx.Commit(ctx)
		case !old.RotatedAt.IsZero():
			outcome = store.RotationReused
			if _, err := tx.Exec(ctx, `UPDATE oauth_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL`,
				store.Micro(now), old.Family); err != nil {
				return err
			}
			return tx.Commit(ctx)
		case !old.ExpiresAt.After(now):
			outcome = store.RotationExpired
			return tx.Commit(ctx)
		}
		tokens.Family = old.Family
		args := append([]any{store.Micro(now), old.ID}, tokenArgs(tokens, now)...)
		if _, err := tx.Exec(ctx, `WITH spent AS (
				UPDATE oauth_tokens SET rotated_at = $1 WHERE id = $2 RETURNING tenant, client_id, username)
			`+insertTokens("spent", 3), args...); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
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
	return db.exec(ctx, "revoke token family", `UPDATE oauth_tokens SET revoked_at = $1
		WHERE revoked_at IS NULL AND family = (SELECT family FROM oauth_tokens WHERE token_hash = $2 AND client_id = $3)`,
		store.Micro(now), hash, clientID)
}

// RevokeUserTokens implements store.DeviceStore.
func (db *DB) RevokeUserTokens(ctx context.Context, tenant, clientID, username string, now time.Time) (int64, error) {
	return db.exec(ctx, "revoke user tokens", `UPDATE oauth_tokens SET revoked_at = $1
		WHERE tenant = $2 AND username = $3 AND client_id = $4 AND revoked_at IS NULL`, store.Micro(now), tenant, username, clientID)
}

// DeleteExpiredOAuth implements store.DeviceStore.
func (db *DB) DeleteExpiredOAuth(ctx context.Context, cutoff time.Time) (int64, error) {
	return db.runBatch(ctx, "delete expired oauth records", store.ErrInUse, func() *pgx.Batch {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM device_authorizations WHERE expires_at < $1`, store.Micro(cutoff))
		b.Queue(`DELETE FROM oauth_tokens WHERE expires_at < $1`, store.Micro(cutoff))
		return b
	})
}
