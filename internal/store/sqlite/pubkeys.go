package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlstore"
)

const pubkeyCols = `p.id, p.tenant, p.client_id, p.client_user_id, p.host, p.host_account, p.public_key_fingerprint,
	p.public_key, p.key_type, p.key_bits, p.max_uses, p.remaining_uses, p.initial_ttl_minutes, p.expires_at, p.created, p.updated`

func pubkeyDest(k *store.Pubkey, exp, created, updated *int64) []any {
	return []any{&k.ID, &k.Tenant, &k.ClientID, &k.ClientUserID, &k.Host, &k.HostAccount, &k.Fingerprint,
		&k.PublicKey, &k.KeyType, &k.KeyBits, &k.MaxUses, &k.RemainingUses, &k.InitialTTLMinutes, exp, created, updated}
}

func scanPubkey(s scanner, k *store.Pubkey) error {
	var exp, created, updated int64
	if err := s.Scan(pubkeyDest(k, &exp, &created, &updated)...); err != nil {
		return err
	}
	k.ExpiresAt, k.Created, k.Updated = fromMicros(exp), fromMicros(created), fromMicros(updated)
	return nil
}

// CreatePubkey implements store.PubkeyStore. The single writer runs the
// read, the check and the insert as one job, so nothing changes in between.
func (db *DB) CreatePubkey(ctx context.Context, k store.Pubkey, provision bool, check store.KeyCheck) (store.Pubkey, error) {
	err := db.w.do(ctx, func(tx *wtx) error {
		deps, err := readDependencies(tx.queryRow, k.Tenant, k.ClientID, k.ClientUserID, k.Host, k.HostAccount)
		if err != nil {
			return err
		}
		if provision && deps.Missing() {
			if err := provisionDependencies(tx, k); err != nil {
				return err
			}
			if deps, err = readDependencies(tx.queryRow, k.Tenant, k.ClientID, k.ClientUserID, k.Host, k.HostAccount); err != nil {
				return err
			}
		}
		if check != nil {
			if err := check(deps); err != nil {
				return err
			}
		}
		return tx.queryRow("insert key", `INSERT INTO pubkeys(tenant, client_id, client_user_id, host, host_account,
			public_key_fingerprint, public_key, key_type, key_bits, max_uses, remaining_uses, initial_ttl_minutes,
			expires_at, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, func(s scanner) error { return s.Scan(&k.ID) },
			k.Tenant, k.ClientID, k.ClientUserID, k.Host, k.HostAccount, k.Fingerprint, k.PublicKey, k.KeyType,
			k.KeyBits, k.MaxUses, k.RemainingUses, k.InitialTTLMinutes, micros(k.ExpiresAt), micros(k.Created), micros(k.Updated))
	})
	if err != nil {
		return store.Pubkey{}, err
	}
	return k, nil
}

// provisionDependencies creates the user MFA record, delegation and host
// mapping a key needs, in that order, leaving existing ones alone.
func provisionDependencies(tx *wtx, k store.Pubkey) error {
	now, never := micros(k.Created), micros(store.Never)
	if _, err := tx.exec("provision user mfa", `INSERT INTO user_mfa(tenant, tms_user_id, expires_at, enabled, created, updated)
		VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING`, k.Tenant, k.ClientUserID, never, now, now); err != nil {
		return err
	}
	if _, err := tx.exec("provision delegation", `INSERT INTO delegations(tenant, client_id, client_user_id, expires_at, created, updated)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, k.Tenant, k.ClientID, k.ClientUserID, never, now, now); err != nil {
		return err
	}
	_, err := tx.exec("provision user host", `INSERT INTO user_hosts(tenant, tms_user_id, host, host_account, expires_at, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, k.Tenant, k.ClientUserID, k.Host, k.HostAccount, never, now, now)
	return err
}

// dependencyCols are the columns of the records a key depends on, read by
// scanDependencies, from the aliases t (tenant), c (client), m (user MFA),
// h (host mapping) and d (delegation), each of which may be missing.
const dependencyCols = `t.enabled, c.enabled, m.id, m.expires_at, m.enabled, h.id, h.expires_at, d.id, d.expires_at`

// dependencyJoins joins the records a key depends on to a row that has the
// key's columns under the alias p.
const dependencyJoins = `LEFT JOIN tenants t ON t.tenant = p.tenant
	LEFT JOIN clients c ON c.tenant = p.tenant AND c.client_id = p.client_id
	LEFT JOIN user_mfa m ON m.tenant = p.tenant AND m.tms_user_id = p.client_user_id
	LEFT JOIN user_hosts h ON h.tenant = p.tenant AND h.tms_user_id = p.client_user_id AND h.host = p.host AND h.host_account = p.host_account
	LEFT JOIN delegations d ON d.tenant = p.tenant AND d.client_id = p.client_id AND d.client_user_id = p.client_user_id`

type nullDeps struct {
	tEnabled, cEnabled, mEnabled    sql.NullBool
	mID, mExp, hID, hExp, dID, dExp sql.NullInt64
}

func (n *nullDeps) dest() []any {
	return []any{&n.tEnabled, &n.cEnabled, &n.mID, &n.mExp, &n.mEnabled, &n.hID, &n.hExp, &n.dID, &n.dExp}
}

func (n *nullDeps) deps() store.Dependencies {
	return store.Dependencies{
		TenantEnabled: n.tEnabled.Bool, ClientEnabled: n.cEnabled.Bool,
		UserMFA:    store.UserMFA{ID: n.mID.Int64, ExpiresAt: optMicros(n.mExp), Enabled: n.mEnabled.Bool},
		UserHost:   store.UserHost{ID: n.hID.Int64, ExpiresAt: optMicros(n.hExp)},
		Delegation: store.Delegation{ID: n.dID.Int64, ExpiresAt: optMicros(n.dExp)},
	}
}

// readDependencies reads the records a key depends on with one statement,
// through queryRow (of a write transaction or of the read pool).
func readDependencies(queryRow func(op, query string, scan func(scanner) error, args ...any) error,
	tenant, clientID, clientUserID, host, hostAccount string) (store.Dependencies, error) {
	var n nullDeps
	err := queryRow("read key dependencies", `SELECT `+dependencyCols+`
		FROM (SELECT ? AS tenant, ? AS client_id, ? AS client_user_id, ? AS host, ? AS host_account) AS p
		`+dependencyJoins, func(s scanner) error { return s.Scan(n.dest()...) }, tenant, clientID, clientUserID, host, hostAccount)
	if err != nil {
		return store.Dependencies{}, err
	}
	deps := n.deps()
	deps.UserMFA.Tenant, deps.UserMFA.TMSUserID = tenant, clientUserID
	deps.UserHost.Tenant, deps.UserHost.TMSUserID, deps.UserHost.Host, deps.UserHost.HostAccount = tenant, clientUserID, host, hostAccount
	deps.Delegation.Tenant, deps.Delegation.ClientID, deps.Delegation.ClientUserID = tenant, clientID, clientUserID
	return deps, nil
}

// Dependencies implements store.PubkeyStore.
func (db *DB) Dependencies(ctx context.Context, tenant, clientID, clientUserID, host, hostAccount string) (store.Dependencies, error) {
	return readDependencies(func(op, query string, scan func(scanner) error, args ...any) error {
		return db.getOne(ctx, op, query, scan, args...)
	}, tenant, clientID, clientUserID, host, hostAccount)
}

// GetPubkey implements store.PubkeyStore.
func (db *DB) GetPubkey(ctx context.Context, tenant string, id int64, onlyClientID string) (store.Pubkey, error) {
	query, args := `SELECT `+pubkeyCols+` FROM pubkeys p WHERE p.tenant = ? AND p.id = ?`, []any{tenant, id}
	if onlyClientID != "" {
		query, args = `SELECT `+pubkeyCols+` FROM pubkeys p WHERE p.tenant = ? AND p.id = ? AND p.client_id = ?`, []any{tenant, id, onlyClientID}
	}
	var k store.Pubkey
	err := db.getOne(ctx, "get key", query, func(s scanner) error { return scanPubkey(s, &k) }, args...)
	return k, err
}

// FindPubkey implements store.PubkeyStore.
func (db *DB) FindPubkey(ctx context.Context, key store.PubkeyKey) (store.Pubkey, error) {
	var k store.Pubkey
	err := db.getOne(ctx, "find key", `SELECT `+pubkeyCols+` FROM pubkeys p
		WHERE p.public_key_fingerprint = ? AND p.host = ? AND p.tenant = ? AND p.client_id = ?`,
		func(s scanner) error { return scanPubkey(s, &k) }, key.Fingerprint, key.Host, key.Tenant, key.ClientID)
	return k, err
}

// ListPubkeys implements store.PubkeyStore.
func (db *DB) ListPubkeys(ctx context.Context, tenant, onlyClientID string) ([]store.Pubkey, error) {
	query, args := `SELECT `+pubkeyCols+` FROM pubkeys p WHERE p.tenant = ?
		ORDER BY p.client_user_id, p.host, p.host_account, p.id`, []any{tenant}
	if onlyClientID != "" {
		query, args = `SELECT `+pubkeyCols+` FROM pubkeys p WHERE p.tenant = ? AND p.client_id = ?
		ORDER BY p.client_user_id, p.host, p.host_account, p.id`, []any{tenant, onlyClientID}
	}
	var out []store.Pubkey
	err := db.queryRows(ctx, "list keys", query, sqlstore.Collect(&out, scanPubkey), args...)
	return out, err
}

// UpdatePubkey implements store.PubkeyStore.
func (db *DB) UpdatePubkey(ctx context.Context, key store.PubkeyKey, upd store.PubkeyUpdate, now time.Time) (int64, error) {
	var fields int64
	err := db.w.do(ctx, func(tx *wtx) error {
		fields = 0
		var id int64
		if err := tx.queryRow("find key", `SELECT id FROM pubkeys WHERE public_key_fingerprint = ? AND host = ? AND tenant = ? AND client_id = ?`,
			func(s scanner) error { return s.Scan(&id) }, key.Fingerprint, key.Host, key.Tenant, key.ClientID); err != nil {
			return err
		}
		if upd.MaxUses != nil {
			n, err := tx.exec("update key uses", `UPDATE pubkeys
				SET remaining_uses = MAX(?1 - (max_uses - remaining_uses), 0), max_uses = ?1, updated = ?2 WHERE id = ?3`,
				*upd.MaxUses, micros(now), id)
			if err != nil {
				return err
			}
			fields += n
		}
		if upd.ExpiresAt != nil {
			n, err := tx.exec("update key expiry", `UPDATE pubkeys SET expires_at = ?, updated = ? WHERE id = ?`,
				micros(*upd.ExpiresAt), micros(now), id)
			if err != nil {
				return err
			}
			fields += n
		}
		return nil
	})
	return fields, err
}

// DeletePubkey implements store.PubkeyStore.
func (db *DB) DeletePubkey(ctx context.Context, key store.PubkeyKey) (int64, error) {
	return db.writeCount(ctx, "delete key", `DELETE FROM pubkeys WHERE public_key_fingerprint = ? AND host = ? AND tenant = ? AND client_id = ?`,
		key.Fingerprint, key.Host, key.Tenant, key.ClientID)
}

// LookupKey implements store.PubkeyStore.
func (db *DB) LookupKey(ctx context.Context, host, fingerprint, hostAccount string) (store.KeyState, error) {
	var (
		ks                    store.KeyState
		exp, created, updated int64
		n                     nullDeps
		lastUsed              sql.NullInt64
	)
	err := db.getOne(ctx, "look up key", `SELECT `+pubkeyCols+`, p.last_used_at, `+dependencyCols+`
		FROM pubkeys p
		`+dependencyJoins+`
		WHERE p.public_key_fingerprint = ? AND p.host = ? AND p.host_account = ?`,
		func(s scanner) error {
			return s.Scan(append(append(pubkeyDest(&ks.Key, &exp, &created, &updated), &lastUsed), n.dest()...)...)
		}, fingerprint, host, hostAccount)
	if err != nil {
		return store.KeyState{}, err
	}
	ks.Key.ExpiresAt, ks.Key.Created, ks.Key.Updated = fromMicros(exp), fromMicros(created), fromMicros(updated)
	ks.Deps = n.deps()
	if lastUsed.Valid {
		ks.LastUsedAt = fromMicros(lastUsed.Int64)
	}
	return ks, nil
}

// UseKey implements store.PubkeyStore.
func (db *DB) UseKey(ctx context.Context, id int64, now time.Time, window time.Duration) (store.UseResult, error) {
	var res store.UseResult
	cutoff := micros(store.UseCutoff(now, window))
	err := db.w.do(ctx, func(tx *wtx) error {
		res = store.UseResult{}
		err := tx.queryRowKeepCache("use key", `UPDATE pubkeys SET remaining_uses = remaining_uses - 1, last_used_at = ?
			WHERE id = ? AND remaining_uses > 0 AND (last_used_at IS NULL OR last_used_at <= ?)
			RETURNING remaining_uses`, func(s scanner) error { return s.Scan(&res.RemainingUses) }, micros(now), id, cutoff)
		if err == nil {
			res.Counted = true
			return nil
		}
		if !isNotFound(err) {
			return err
		}
		var lastUsed sql.NullInt64
		if err := tx.queryRow("read key use", `SELECT remaining_uses, last_used_at FROM pubkeys WHERE id = ?`,
			func(s scanner) error { return s.Scan(&res.RemainingUses, &lastUsed) }, id); err != nil {
			return err
		}
		res.Repeated = lastUsed.Valid && lastUsed.Int64 > cutoff
		return nil
	})
	return res, err
}
