package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmsproject/tms/internal/store"
	"github.com/tmsproject/tms/internal/store/sqlstore"
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

// CreatePubkey implements store.PubkeyStore. Concurrent calls share one
// transaction and one commit (see keybatch.go); a key that needs
// provisioning, or that the batch could not insert, is stored alone by the
// same steps.
func (db *DB) CreatePubkey(ctx context.Context, k store.Pubkey, provision bool, check store.KeyCheck) (store.Pubkey, error) {
	k.ExpiresAt, k.Created, k.Updated = store.Micro(k.ExpiresAt), store.Micro(k.Created), store.Micro(k.Updated)
	job := &keyJob{ctx: ctx, key: k, provision: provision, check: check, done: make(chan keyResult, 1)}
	r, err := db.keys.insert(ctx, job)
	if err != nil {
		return store.Pubkey{}, err
	}
	if r.alone {
		var rs []keyResult
		err = db.runKeepCache(ctx, "insert key", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) (err error) {
			rs, err = storeKeys(ctx, conn, []*keyJob{job}, true)
			return err
		})
		if err != nil {
			return store.Pubkey{}, err
		}
		r = rs[0]
	}
	if r.err != nil {
		return store.Pubkey{}, r.err
	}
	k.ID = r.id
	return k, nil
}

// keyResult is what happened to one key of storeKeys.
type keyResult struct {
	// id is the new key's id when it was inserted.
	id int64
	// err is the refusal of the key's check, or ErrConflict.
	err error
	// alone asks the caller to store the key by itself.
	alone bool
}

// storeKeys stores the keys of jobs in one transaction on conn: one
// statement reads the dependencies of every key and locks them (FOR SHARE)
// until the commit, each key's check runs on its dependencies, and one
// statement inserts the keys that pass. With alone set (one job), missing
// dependencies are provisioned and read again when the job asks for it, and
// a duplicate key is ErrConflict; without it, a key that needs
// provisioning, repeats another key of the batch or collides with a stored
// key is sent back to be stored alone.
func storeKeys(ctx context.Context, conn *pgx.Conn, jobs []*keyJob, alone bool) ([]keyResult, error) {
	results := make([]keyResult, len(jobs))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	deps, err := readDependencies(ctx, tx, jobs)
	if err != nil {
		return nil, err
	}
	if alone && jobs[0].provision && deps[0].Missing() {
		k := jobs[0].key
		if _, err := tx.Exec(ctx, provisionDependencies, k.Tenant, k.ClientID, k.ClientUserID, k.Host, k.HostAccount, store.Never, k.Created); err != nil {
			return nil, err
		}
		if deps, err = readDependencies(ctx, tx, jobs); err != nil {
			return nil, err
		}
	}
	pass := make([]*keyJob, 0, len(jobs))
	index := make(map[keyIdentity]int, len(jobs))
	for i, j := range jobs {
		id := keyIdentity{j.key.Fingerprint, j.key.Host}
		if _, seen := index[id]; seen || (j.provision && deps[i].Missing() && !alone) {
			results[i].alone = true
			continue
		}
		if j.check != nil {
			if results[i].err = j.check(deps[i]); results[i].err != nil {
				continue
			}
		}
		index[id] = i
		pass = append(pass, j)
	}
	if alone && results[0].err != nil {
		// Roll back what provisioning created.
		return results, nil
	}
	if len(pass) > 0 {
		if err := insertKeys(ctx, tx, pass, func(id keyIdentity, keyID int64) { results[index[id]].id = keyID }); err != nil {
			return nil, err
		}
		for id, i := range index {
			if results[i].id != 0 {
				continue
			}
			if alone {
				results[i].err = fmt.Errorf("insert key %s: %w", id.fingerprint, store.ErrConflict)
			} else {
				results[i].alone = true
			}
		}
	}
	return results, tx.Commit(ctx)
}

type keyIdentity struct{ fingerprint, host string }

// dependenciesQuery reads, for each key of the arrays (tenant, client,
// user, host, account), the records it depends on, in the order of the
// arrays, and locks the user MFA records, host mappings and delegations it
// finds against change until the transaction ends.
const dependenciesQuery = `SELECT t.enabled, c.enabled, m.id, m.expires_at, m.enabled, h.id, h.expires_at, d.id, d.expires_at
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
		AS p(tenant, client_id, client_user_id, host, host_account, i)
	LEFT JOIN tenants t ON t.tenant = p.tenant
	LEFT JOIN clients c ON c.tenant = p.tenant AND c.client_id = p.client_id
	LEFT JOIN LATERAL (SELECT id, expires_at, enabled FROM user_mfa
		WHERE tenant = p.tenant AND tms_user_id = p.client_user_id FOR SHARE) m ON true
	LEFT JOIN LATERAL (SELECT id, expires_at FROM user_hosts
		WHERE tenant = p.tenant AND tms_user_id = p.client_user_id AND host = p.host AND host_account = p.host_account FOR SHARE) h ON true
	LEFT JOIN LATERAL (SELECT id, expires_at FROM delegations
		WHERE tenant = p.tenant AND client_id = p.client_id AND client_user_id = p.client_user_id FOR SHARE) d ON true
	ORDER BY p.i`

// readDependencies reads the dependencies of the jobs' keys with one
// statement.
func readDependencies(ctx context.Context, tx pgx.Tx, jobs []*keyJob) ([]store.Dependencies, error) {
	cols := make([][]string, 5)
	for i := range cols {
		cols[i] = make([]string, len(jobs))
	}
	for i, j := range jobs {
		k := j.key
		cols[0][i], cols[1][i], cols[2][i], cols[3][i], cols[4][i] = k.Tenant, k.ClientID, k.ClientUserID, k.Host, k.HostAccount
	}
	rows, err := tx.Query(ctx, dependenciesQuery, cols[0], cols[1], cols[2], cols[3], cols[4])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]store.Dependencies, 0, len(jobs))
	for rows.Next() {
		var n nullDeps
		if err := rows.Scan(n.dest()...); err != nil {
			return nil, err
		}
		d := n.deps()
		k := jobs[len(out)].key
		d.UserMFA.Tenant, d.UserMFA.TMSUserID = k.Tenant, k.ClientUserID
		d.UserHost.Tenant, d.UserHost.TMSUserID, d.UserHost.Host, d.UserHost.HostAccount = k.Tenant, k.ClientUserID, k.Host, k.HostAccount
		d.Delegation.Tenant, d.Delegation.ClientID, d.Delegation.ClientUserID = k.Tenant, k.ClientID, k.ClientUserID
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) != len(jobs) {
		return nil, fmt.Errorf("read key dependencies: %d rows for %d keys", len(out), len(jobs))
	}
	return out, nil
}

// insertKeysQuery inserts many keys, skipping keys that collide with an
// existing one, and returns the ids of those it inserted.
const insertKeysQuery = `INSERT INTO pubkeys(tenant, client_id, client_user_id, host, host_account,
	public_key_fingerprint, public_key, key_type, key_bits, max_uses, remaining_uses, initial_ttl_minutes,
	expires_at, created, updated)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
		$9::int[], $10::int[], $11::int[], $12::int[], $13::timestamptz[], $14::timestamptz[], $15::timestamptz[])
	ON CONFLICT (public_key_fingerprint, host) DO NOTHING
	RETURNING id, public_key_fingerprint, host`

// insertKeys inserts the jobs' keys with one statement and calls inserted
// for each key inserted.
func insertKeys(ctx context.Context, tx pgx.Tx, jobs []*keyJob, inserted func(keyIdentity, int64)) error {
	n := len(jobs)
	text := make([][]string, 8)
	for i := range text {
		text[i] = make([]string, n)
	}
	ints := make([][]int32, 4)
	for i := range ints {
		ints[i] = make([]int32, n)
	}
	times := make([][]time.Time, 3)
	for i := range times {
		times[i] = make([]time.Time, n)
	}
	for i, j := range jobs {
		k := j.key
		for c, v := range [...]string{k.Tenant, k.ClientID, k.ClientUserID, k.Host, k.HostAccount, k.Fingerprint, k.PublicKey, k.KeyType} {
			text[c][i] = v
		}
		for c, v := range [...]int32{k.KeyBits, k.MaxUses, k.RemainingUses, k.InitialTTLMinutes} {
			ints[c][i] = v
		}
		for c, v := range [...]time.Time{k.ExpiresAt, k.Created, k.Updated} {
			times[c][i] = v
		}
	}
	rows, err := tx.Query(ctx, insertKeysQuery, text[0], text[1], text[2], text[3], text[4], text[5], text[6], text[7],
		ints[0], ints[1], ints[2], ints[3], times[0], times[1], times[2])
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			k  keyIdentity
		)
		if err := rows.Scan(&id, &k.fingerprint, &k.host); err != nil {
			return err
		}
		inserted(k, id)
	}
	return rows.Err()
}

type nullDeps struct {
	tEnabled, cEnabled, mEnabled *bool
	mID, hID, dID                *int64
	mExp, hExp, dExp             *time.Time
}

func (n *nullDeps) dest() []any {
	return []any{&n.tEnabled, &n.cEnabled, &n.mID, &n.mExp, &n.mEnabled, &n.hID, &n.hExp, &n.dID, &n.dExp}
}

func (n *nullDeps) deps() store.Dependencies {
	return store.Dependencies{
		TenantEnabled: orZero(n.tEnabled), ClientEnabled: orZero(n.cEnabled),
		UserMFA:    store.UserMFA{ID: orZero(n.mID), ExpiresAt: orZero(n.mExp), Enabled: orZero(n.mEnabled)},
		UserHost:   store.UserHost{ID: orZero(n.hID), ExpiresAt: orZero(n.hExp)},
		Delegation: store.Delegation{ID: orZero(n.dID), ExpiresAt: orZero(n.dExp)},
	}
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
	var deps []store.Dependencies
	err := db.read(ctx, "read key dependencies", func(ctx context.Context, conn *pgx.Conn) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) //nolint:errcheck // it only read (and locked)
		k := store.Pubkey{Tenant: tenant, ClientID: clientID, ClientUserID: clientUserID, Host: host, HostAccount: hostAccount}
		deps, err = readDependencies(ctx, tx, []*keyJob{{key: k}})
		return err
	})
	if err != nil {
		return store.Dependencies{}, err
	}
	return deps[0], nil
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
	err := db.queryAll(ctx, "list keys", query, sqlstore.Collect(&out, scanPubkey), args...)
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
	var (
		ks       store.KeyState
		n        nullDeps
		lastUsed *time.Time
	)
	err := db.queryOne(ctx, "look up key", `SELECT `+pubkeyCols+`, p.last_used_at, t.enabled, c.enabled, m.id, m.expires_at, m.enabled,
			h.id, h.expires_at, d.id, d.expires_at
		FROM pubkeys p
		LEFT JOIN tenants t ON t.tenant = p.tenant
		LEFT JOIN clients c ON c.tenant = p.tenant AND c.client_id = p.client_id
		LEFT JOIN user_mfa m ON m.tenant = p.tenant AND m.tms_user_id = p.client_user_id
		LEFT JOIN user_hosts h ON h.tenant = p.tenant AND h.tms_user_id = p.client_user_id AND h.host = p.host AND h.host_account = p.host_account
		LEFT JOIN delegations d ON d.tenant = p.tenant AND d.client_id = p.client_id AND d.client_user_id = p.client_user_id
		WHERE p.public_key_fingerprint = $1 AND p.host = $2 AND p.host_account = $3`,
		func(s scanner) error {
			return s.Scan(append(append(pubkeyDest(&ks.Key), &lastUsed), n.dest()...)...)
		}, fingerprint, host, hostAccount)
	if err != nil {
		return store.KeyState{}, err
	}
	ks.Deps = n.deps()
	ks.LastUsedAt = orZero(lastUsed)
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
