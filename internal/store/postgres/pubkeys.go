package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/readcache"
)

const pubkeyCols = `p.id, p.tenant, p.client_id, p.client_user_id, p.host, p.host_account, p.public_key_fingerprint,
	p.public_key, p.key_type, p.key_bits, p.max_uses, p.remaining_uses, p.initial_ttl_minutes, p.expires_at, p.created, p.updated`

func pubkeyDest(k *store.Pubkey) []any {
	return []any{&k.ID, &k.Tenant, &k.ClientID, &k.ClientUserID, &k.Host, &k.HostAccount, &k.Fingerprint,
		&k.PublicKey, &k.KeyType, &k.KeyBits, &k.MaxUses, &k.RemainingUses, &k.InitialTTLMinutes, &k.ExpiresAt, &k.Created, &k.Updated}
}

func scanPubkey(s scanner, k *store.Pubkey) error {
	return s.Scan(pubkeyDest(k)...)
}

// provisionDependencies creates the records a key depends on that are
// missing, enabled and never expiring, and leaves existing ones alone, in
// one statement. Each insert reads a count of the rows the one before it
// inserted, so they run in the order, and take their locks in the order,
// used everywhere: user MFA, delegation, host mapping. Arguments: tenant,
// client, user, host, account, never, now.
const provisionDependencies = `WITH mfa AS (
		INSERT INTO user_mfa(tenant, tms_user_id, expires_at, enabled, created, updated)
		VALUES ($1, $3, $6, true, $7, $7)
		ON CONFLICT DO NOTHING RETURNING 1),
	delegation AS (
		INSERT INTO delegations(tenant, client_id, client_user_id, expires_at, created, updated)
		SELECT $1, $2, $3, $6, $7, $7 FROM (SELECT count(*) FROM mfa) AS after_mfa
		ON CONFLICT DO NOTHING RETURNING 1)
	INSERT INTO user_hosts(tenant, tms_user_id, host, host_account, expires_at, created, updated)
	SELECT $1, $3, $4, $5, $6, $7, $7 FROM (SELECT count(*) FROM delegation) AS after_delegation
	ON CONFLICT DO NOTHING`

// dependenciesQuery reads the three records a key depends on in one
// statement. Arguments: tenant, client, user, host, account.
const dependenciesQuery = `SELECT m.id, m.expires_at, m.enabled, h.id, h.expires_at, d.id, d.expires_at
	FROM (SELECT 1) AS one
	LEFT JOIN user_mfa m ON m.tenant = $1 AND m.tms_user_id = $3
	LEFT JOIN user_hosts h ON h.tenant = $1 AND h.tms_user_id = $3 AND h.host = $4 AND h.host_account = $5
	LEFT JOIN delegations d ON d.tenant = $1 AND d.client_id = $2 AND d.client_user_id = $3`

// insertKey inserts a key only if its dependencies hold at its creation
// time ($14): public_key is NULL otherwise, so the NOT NULL constraint
// refuses the row and aborts the transaction it runs in, together with
// anything provisioned before it.
const insertKey = `INSERT INTO pubkeys(tenant, client_id, client_user_id, host, host_account,
	public_key_fingerprint, public_key, key_type, key_bits, max_uses, remaining_uses, initial_ttl_minutes,
	expires_at, created, updated)
	VALUES ($1, $2, $3, $4, $5, $6,
		CASE WHEN EXISTS (SELECT 1 FROM user_mfa m, user_hosts h, delegations d
			WHERE m.tenant = $1 AND m.tms_user_id = $3 AND m.enabled AND m.expires_at >= $14
			AND h.tenant = $1 AND h.tms_user_id = $3 AND h.host = $4 AND h.host_account = $5 AND h.expires_at >= $14
			AND d.tenant = $1 AND d.client_id = $2 AND d.client_user_id = $3 AND d.expires_at >= $14)
		THEN $7 END,
		$8, $9, $10, $11, $12, $13, $14, $15)
	RETURNING id`

// refusedByInsertKey reports whether err is insertKey's refusal of a key
// whose dependencies do not hold.
func refusedByInsertKey(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23502" && pgErr.ColumnName == "public_key"
}

// CreatePubkey implements store.PubkeyStore. The key is inserted by one
// guarded statement in one round trip. When that is refused and provision
// is set, the provisioning insert and the guarded insert travel as one
// batch: one implicit transaction, which a refused key rolls back whole.
// Only then are the dependencies read, to say why.
//
// Concurrent calls share one statement and one commit: see keybatch.go.
func (db *DB) CreatePubkey(ctx context.Context, k store.Pubkey, provision bool) (store.Pubkey, error) {
	k.ExpiresAt, k.Created, k.Updated = store.Micro(k.ExpiresAt), store.Micro(k.Created), store.Micro(k.Updated)
	id, alone, err := db.keys.insert(ctx, k)
	if err != nil {
		return store.Pubkey{}, err
	}
	if !alone {
		k.ID = id
		return k, nil
	}
	err = db.runKeepCache(ctx, "insert key", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) (err error) {
		// Most keys are for users whose records exist: try without
		// provisioning first, and provision only when that is refused.
		k.ID, err = insertPubkey(ctx, conn, k, false)
		if refusedByInsertKey(err) && provision {
			k.ID, err = insertPubkey(ctx, conn, k, true)
		}
		if refusedByInsertKey(err) {
			return refusal(ctx, conn, k, provision)
		}
		return err
	})
	if err != nil {
		return store.Pubkey{}, err
	}
	return k, nil
}

// insertPubkey sends the key's batch and returns the new key's id.
func insertPubkey(ctx context.Context, conn *pgx.Conn, k store.Pubkey, provision bool) (int64, error) {
	b := &pgx.Batch{}
	if provision {
		b.Queue(provisionDependencies, k.Tenant, k.ClientID, k.ClientUserID, k.Host, k.HostAccount, store.Never, k.Created)
	}
	b.Queue(insertKey, k.Tenant, k.ClientID, k.ClientUserID, k.Host, k.HostAccount, k.Fingerprint, k.PublicKey,
		k.KeyType, k.KeyBits, k.MaxUses, k.RemainingUses, k.InitialTTLMinutes, k.ExpiresAt, k.Created, k.Updated)
	results := conn.SendBatch(ctx, b)
	defer results.Close()
	if provision {
		if _, err := results.Exec(); err != nil {
			return 0, err
		}
	}
	var id int64
	if err := results.QueryRow().Scan(&id); err != nil {
		return 0, err
	}
	// Closing reads the outcome of the implicit commit.
	return id, results.Close()
}

// refusal reads the dependencies of a refused key and returns the
// *store.DependencyError that says why it was refused. The refused batch
// left nothing behind, so a record that is missing now is one that
// provisioning would have created.
func refusal(ctx context.Context, conn *pgx.Conn, k store.Pubkey, provision bool) error {
	var deps store.Dependencies
	if err := scanDependencies(conn.QueryRow(ctx, dependenciesQuery, k.Tenant, k.ClientID, k.ClientUserID, k.Host, k.HostAccount), &deps); err != nil {
		return err
	}
	if provision {
		addProvisioned(&deps)
	}
	if err := deps.Check(k.Created); err != nil {
		return err
	}
	return errDependenciesChanged
}

// provisionedID stands for the id of a record that provisioning would
// create; any id but 0 tells Dependencies.Check that the record exists.
const provisionedID = -1

// addProvisioned puts the records that provisioning creates, enabled and
// never expiring, in place of those missing from d.
func addProvisioned(d *store.Dependencies) {
	if d.UserMFA.ID == 0 {
		d.UserMFA = store.UserMFA{ID: provisionedID, Enabled: true, ExpiresAt: store.Never}
	}
	if d.UserHost.ID == 0 {
		d.UserHost = store.UserHost{ID: provisionedID, ExpiresAt: store.Never}
	}
	if d.Delegation.ID == 0 {
		d.Delegation = store.Delegation{ID: provisionedID, ExpiresAt: store.Never}
	}
}

func scanDependencies(s scanner, d *store.Dependencies) error {
	var (
		mID, hID, dID    *int64
		mExp, hExp, dExp *time.Time
		mEnabled         *bool
	)
	if err := s.Scan(&mID, &mExp, &mEnabled, &hID, &hExp, &dID, &dExp); err != nil {
		return err
	}
	d.UserMFA = store.UserMFA{ID: orZero(mID), ExpiresAt: orZero(mExp), Enabled: orZero(mEnabled)}
	d.UserHost = store.UserHost{ID: orZero(hID), ExpiresAt: orZero(hExp)}
	d.Delegation = store.Delegation{ID: orZero(dID), ExpiresAt: orZero(dExp)}
	return nil
}

// orZero returns what p points to, or the zero value for a NULL column.
func orZero[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// Dependencies implements store.PubkeyStore.
func (db *DB) Dependencies(ctx context.Context, tenant, clientID, clientUserID, host, hostAccount string) (store.Dependencies, error) {
	var deps store.Dependencies
	err := db.queryOne(ctx, "read key dependencies", dependenciesQuery, func(s scanner) error { return scanDependencies(s, &deps) },
		tenant, clientID, clientUserID, host, hostAccount)
	if err != nil {
		return store.Dependencies{}, err
	}
	deps.UserMFA.Tenant, deps.UserMFA.TMSUserID = tenant, clientUserID
	deps.UserHost.Tenant, deps.UserHost.TMSUserID, deps.UserHost.Host, deps.UserHost.HostAccount = tenant, clientUserID, host, hostAccount
	deps.Delegation.Tenant, deps.Delegation.ClientID, deps.Delegation.ClientUserID = tenant, clientID, clientUserID
	return deps, nil
}

// GetPubkey implements store.PubkeyStore.
func (db *DB) GetPubkey(ctx context.Context, tenant string, id int64, onlyClientID string) (store.Pubkey, error) {
	if err := idNotFound("get key", id); err != nil {
		return store.Pubkey{}, err
	}
	query, args := `SELECT `+pubkeyCols+` FROM pubkeys p WHERE p.tenant = $1 AND p.id = $2`, []any{tenant, id}
	if onlyClientID != "" {
		query, args = `SELECT `+pubkeyCols+` FROM pubkeys p WHERE p.tenant = $1 AND p.id = $2 AND p.client_id = $3`, []any{tenant, id, onlyClientID}
	}
	var k store.Pubkey
	err := db.queryOne(ctx, "get key", query, func(s scanner) error { return scanPubkey(s, &k) }, args...)
	return k, err
}

// FindPubkey implements store.PubkeyStore.
func (db *DB) FindPubkey(ctx context.Context, key store.PubkeyKey) (store.Pubkey, error) {
	var k store.Pubkey
	err := db.queryOne(ctx, "find key", `SELECT `+pubkeyCols+` FROM pubkeys p
		WHERE p.public_key_fingerprint = $1 AND p.host = $2 AND p.tenant = $3 AND p.client_id = $4`,
		func(s scanner) error { return scanPubkey(s, &k) }, key.Fingerprint, key.Host, key.Tenant, key.ClientID)
	return k, err
}

// ListPubkeys implements store.PubkeyStore.
func (db *DB) ListPubkeys(ctx context.Context, tenant, onlyClientID string) ([]store.Pubkey, error) {
	query, args := `SELECT `+pubkeyCols+` FROM pubkeys p WHERE p.tenant = $1
		ORDER BY p.client_user_id, p.host, p.host_account, p.id`, []any{tenant}
	if onlyClientID != "" {
		query, args = `SELECT `+pubkeyCols+` FROM pubkeys p WHERE p.tenant = $1 AND p.client_id = $2
		ORDER BY p.client_user_id, p.host, p.host_account, p.id`, []any{tenant, onlyClientID}
	}
	var out []store.Pubkey
	err := db.queryAll(ctx, "list keys", query, func(s scanner) error {
		var k store.Pubkey
		if err := scanPubkey(s, &k); err != nil {
			return err
		}
		out = append(out, k)
		return nil
	}, args...)
	return out, err
}

// UpdatePubkey implements store.PubkeyStore. Each field is one UPDATE that
// computes the new values from the row itself, so concurrent uses are never
// lost; both run in one transaction.
func (db *DB) UpdatePubkey(ctx context.Context, key store.PubkeyKey, upd store.PubkeyUpdate, now time.Time) (int64, error) {
	if upd.MaxUses == nil && upd.ExpiresAt == nil {
		var exists bool
		err := db.queryOne(ctx, "update key", `SELECT EXISTS (SELECT 1 FROM pubkeys
			WHERE public_key_fingerprint = $1 AND host = $2 AND tenant = $3 AND client_id = $4)`,
			func(s scanner) error { return s.Scan(&exists) }, key.Fingerprint, key.Host, key.Tenant, key.ClientID)
		if err == nil && !exists {
			err = fmt.Errorf("update key: %w", store.ErrNotFound)
		}
		return 0, err
	}
	var fields int64
	err := db.run(ctx, "update key", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) error {
		b := &pgx.Batch{}
		if upd.MaxUses != nil {
			b.Queue(`UPDATE pubkeys SET remaining_uses = GREATEST($1 - (max_uses - remaining_uses), 0), max_uses = $1, updated = $2
				WHERE public_key_fingerprint = $3 AND host = $4 AND tenant = $5 AND client_id = $6`,
				*upd.MaxUses, store.Micro(now), key.Fingerprint, key.Host, key.Tenant, key.ClientID)
		}
		if upd.ExpiresAt != nil {
			b.Queue(`UPDATE pubkeys SET expires_at = $1, updated = $2
				WHERE public_key_fingerprint = $3 AND host = $4 AND tenant = $5 AND client_id = $6`,
				store.Micro(*upd.ExpiresAt), store.Micro(now), key.Fingerprint, key.Host, key.Tenant, key.ClientID)
		}
		counts, err := execBatch(ctx, conn, b)
		if err != nil {
			return err
		}
		if counts[0] == 0 {
			return pgx.ErrNoRows
		}
		fields = sum(counts)
		return nil
	})
	return fields, err
}

// DeletePubkey implements store.PubkeyStore.
func (db *DB) DeletePubkey(ctx context.Context, key store.PubkeyKey) (int64, error) {
	return db.execDelete(ctx, "delete key", `DELETE FROM pubkeys
		WHERE public_key_fingerprint = $1 AND host = $2 AND tenant = $3 AND client_id = $4`,
		key.Fingerprint, key.Host, key.Tenant, key.ClientID)
}

// LookupKey implements store.PubkeyStore.
func (db *DB) LookupKey(ctx context.Context, host, fingerprint, hostAccount string) (store.KeyState, error) {
	q := readcache.KeyQuery{Host: host, Fingerprint: fingerprint, Account: hostAccount}
	if ks, ok := db.cache.Keys.Get(q); ok {
		return ks, nil
	}
	gen, on := db.cache.Gen.Begin()
	var (
		ks       store.KeyState
		lastUsed *time.Time
	)
	err := db.queryOne(ctx, "look up key", `SELECT `+pubkeyCols+`, p.last_used_at, t.enabled, c.enabled, m.enabled, m.expires_at,
			h.expires_at, d.expires_at
		FROM pubkeys p
		JOIN tenants t ON t.tenant = p.tenant
		JOIN clients c ON c.tenant = p.tenant AND c.client_id = p.client_id
		JOIN user_mfa m ON m.tenant = p.tenant AND m.tms_user_id = p.client_user_id
		JOIN user_hosts h ON h.tenant = p.tenant AND h.tms_user_id = p.client_user_id AND h.host = p.host AND h.host_account = p.host_account
		JOIN delegations d ON d.tenant = p.tenant AND d.client_id = p.client_id AND d.client_user_id = p.client_user_id
		WHERE p.public_key_fingerprint = $1 AND p.host = $2 AND p.host_account = $3`,
		func(s scanner) error {
			dest := append(pubkeyDest(&ks.Key), &lastUsed, &ks.TenantEnabled, &ks.ClientEnabled, &ks.UserMFAEnabled,
				&ks.UserMFAExpiresAt, &ks.UserHostExpiresAt, &ks.DelegationExpiresAt)
			return s.Scan(dest...)
		}, fingerprint, host, hostAccount)
	if err != nil {
		return store.KeyState{}, err
	}
	ks.LastUsedAt = orZero(lastUsed)
	db.cache.Keys.Put(q, gen, on, ks)
	return ks, nil
}

// UseKey implements store.PubkeyStore. The check and the decrement are one
// UPDATE; only when it matches no row does a read say why.
func (db *DB) UseKey(ctx context.Context, id int64, now time.Time, window time.Duration) (store.UseResult, error) {
	if err := idNotFound("use key", id); err != nil {
		return store.UseResult{}, err
	}
	now = store.Micro(now)
	cutoff := store.Micro(store.UseCutoff(now, window))
	var res store.UseResult
	err := db.runKeepCache(ctx, "use key", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) error {
		res = store.UseResult{}
		err := conn.QueryRow(ctx, `UPDATE pubkeys SET remaining_uses = remaining_uses - 1, last_used_at = $1
			WHERE id = $2 AND remaining_uses > 0 AND (last_used_at IS NULL OR last_used_at <= $3)
			RETURNING remaining_uses`, now, id, cutoff).Scan(&res.RemainingUses)
		if err == nil {
			res.Counted = true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var lastUsed *time.Time
		if err := conn.QueryRow(ctx, `SELECT remaining_uses, last_used_at FROM pubkeys WHERE id = $1`, id).
			Scan(&res.RemainingUses, &lastUsed); err != nil {
			return err
		}
		res.Repeated = lastUsed != nil && lastUsed.After(cutoff)
		return nil
	})
	return res, err
}
