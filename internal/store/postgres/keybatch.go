package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tmsproject/tms/internal/store"
)

// keyBatcher inserts the keys of concurrent CreatePubkey calls together:
// its worker takes every key waiting (up to maxBatch) and inserts them with
// one guarded statement in one transaction, so that many keys share one
// round trip and one commit (group commit) instead of paying a WAL flush
// each. While a batch commits, the next one gathers. A key that the batch does not insert — its dependencies do not hold
// (it may need provisioning), it collides with another key, or the batch
// failed — goes back to its caller, which inserts it alone; that path
// provisions and explains refusals.
type keyBatcher struct {
	db       *DB
	jobs     chan *keyJob
	maxBatch int

	mu     sync.RWMutex // guards sends on jobs against close
	closed bool
	wg     sync.WaitGroup

	batches atomic.Int64 // batch statements that inserted keys
	batched atomic.Int64 // keys inserted by them
}

// KeyBatchStats says how key creation shared statements.
type KeyBatchStats struct {
	// Batches counts the statements that inserted keys of several calls.
	Batches int64
	// Batched counts the keys those statements inserted.
	Batched int64
}

// KeyBatchStats reports how key creation shared statements.
func (db *DB) KeyBatchStats() KeyBatchStats {
	return KeyBatchStats{Batches: db.keys.batches.Load(), Batched: db.keys.batched.Load()}
}

// keyJob states.
const (
	jobQueued int32 = iota
	jobTaken
	jobAbandoned
)

type keyJob struct {
	ctx   context.Context
	key   store.Pubkey
	state atomic.Int32
	done  chan keyResult
}

type keyResult struct {
	id int64
	// alone asks the caller to insert the key by itself.
	alone bool
}

func newKeyBatcher(db *DB, workers, queue, maxBatch int) *keyBatcher {
	b := &keyBatcher{db: db, jobs: make(chan *keyJob, queue), maxBatch: maxBatch}
	for range workers {
		b.wg.Add(1)
		go b.work()
	}
	return b
}

// insert inserts k with the keys of other callers. It reports alone when
// the caller must insert k by itself, and fails only when ctx ends before
// the key was taken into a batch.
func (b *keyBatcher) insert(ctx context.Context, k store.Pubkey) (id int64, alone bool, err error) {
	job := &keyJob{ctx: ctx, key: k, done: make(chan keyResult, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return 0, false, fmt.Errorf("insert key: %w: store closed", store.ErrUnavailable)
	}
	select {
	case b.jobs <- job:
		b.mu.RUnlock()
	default:
		// Every worker is busy and the queue is full: insert alone, which
		// is bounded by the pool's acquire timeout.
		b.mu.RUnlock()
		return 0, true, nil
	}
	select {
	case r := <-job.done:
		return r.id, r.alone, nil
	case <-ctx.Done():
		if job.state.CompareAndSwap(jobQueued, jobAbandoned) {
			return 0, false, fmt.Errorf("insert key: %w: %w", store.ErrUnavailable, ctx.Err())
		}
		// The key is in a batch already: its outcome must be reported.
		r := <-job.done
		return r.id, r.alone, nil
	}
}

func (b *keyBatcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.jobs)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *keyBatcher) work() {
	defer b.wg.Done()
	batch := make([]*keyJob, 0, b.maxBatch)
	for job := range b.jobs {
		batch = append(batch[:0], job)
	drain:
		for len(batch) < b.maxBatch {
			select {
			case more, ok := <-b.jobs:
				if !ok {
					break drain
				}
				batch = append(batch, more)
			default:
				break drain
			}
		}
		b.run(batch)
	}
}

// run inserts the keys of the jobs still wanted and answers every job.
func (b *keyBatcher) run(batch []*keyJob) {
	live := batch[:0:0]
	for _, j := range batch {
		if j.state.CompareAndSwap(jobQueued, jobTaken) {
			live = append(live, j)
		}
	}
	if len(live) == 0 {
		return
	}
	ids, err := b.db.insertKeys(live)
	if err == nil && len(ids) > 0 {
		b.batches.Add(1)
		b.batched.Add(int64(len(ids)))
	}
	for _, j := range live {
		id, ok := ids[keyIdentity{j.key.Fingerprint, j.key.Host}]
		if err != nil || !ok {
			j.done <- keyResult{alone: true}
			continue
		}
		j.done <- keyResult{id: id}
	}
}

type keyIdentity struct{ fingerprint, host string }

// insertKeysTimeout bounds one batch insert.
const insertKeysTimeout = 10 * time.Second

// insertKeys inserts the jobs' keys whose dependencies hold and that
// collide with no key, in one statement, and returns the ids of those it
// inserted.
func (db *DB) insertKeys(jobs []*keyJob) (map[keyIdentity]int64, error) {
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
			times[c][i] = store.Micro(v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), insertKeysTimeout)
	defer cancel()
	ids := make(map[keyIdentity]int64, n)
	err := db.runKeepCache(ctx, "insert keys", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) error {
		clear(ids)
		rows, err := conn.Query(ctx, insertKeysQuery, text[0], text[1], text[2], text[3], text[4], text[5], text[6], text[7],
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
			ids[k] = id
		}
		return rows.Err()
	})
	if err != nil {
		if !errors.Is(err, store.ErrUnavailable) {
			db.opts.Logger.Warn("postgres: a batch of keys failed; inserting them one by one", "keys", n, "err", err)
		}
		return nil, err
	}
	return ids, nil
}

// insertKeysQuery inserts many keys, each only if its user MFA record is
// enabled and its MFA record, host mapping and delegation are unexpired at
// its creation time, skipping keys that collide with an existing one.
const insertKeysQuery = `INSERT INTO pubkeys(tenant, client_id, client_user_id, host, host_account,
	public_key_fingerprint, public_key, key_type, key_bits, max_uses, remaining_uses, initial_ttl_minutes,
	expires_at, created, updated)
	SELECT v.tenant, v.client_id, v.client_user_id, v.host, v.host_account, v.fingerprint, v.public_key, v.key_type,
		v.key_bits, v.max_uses, v.remaining_uses, v.initial_ttl_minutes, v.expires_at, v.created, v.updated
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
		$9::int[], $10::int[], $11::int[], $12::int[], $13::timestamptz[], $14::timestamptz[], $15::timestamptz[])
		AS v(tenant, client_id, client_user_id, host, host_account, fingerprint, public_key, key_type,
			key_bits, max_uses, remaining_uses, initial_ttl_minutes, expires_at, created, updated)
	WHERE EXISTS (SELECT 1 FROM user_mfa m, user_hosts h, delegations d
		WHERE m.tenant = v.tenant AND m.tms_user_id = v.client_user_id AND m.enabled AND m.expires_at >= v.created
		AND h.tenant = v.tenant AND h.tms_user_id = v.client_user_id AND h.host = v.host
		AND h.host_account = v.host_account AND h.expires_at >= v.created
		AND d.tenant = v.tenant AND d.client_id = v.client_id AND d.client_user_id = v.client_user_id
		AND d.expires_at >= v.created)
	ON CONFLICT (public_key_fingerprint, host) DO NOTHING
	RETURNING id, public_key_fingerprint, host`
