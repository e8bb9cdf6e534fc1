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

// keyBatcher stores the keys of concurrent CreatePubkey calls together: its
// worker takes every key waiting (up to maxBatch) and stores them in one
// transaction (storeKeys: one statement reads every key's dependencies, one
// inserts the keys their checks accept), so that many keys share the round
// trips and one commit (group commit) instead of paying a WAL flush each.
// While a batch commits, the next one gathers. A key that the batch does not
// decide — it needs provisioning, it collides with another key, or the
// batch failed — goes back to its caller, which stores it alone.
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
	ctx       context.Context
	key       store.Pubkey
	provision bool
	check     store.KeyCheck
	state     atomic.Int32
	done      chan keyResult
}

func newKeyBatcher(db *DB, workers, queue, maxBatch int) *keyBatcher {
	b := &keyBatcher{db: db, jobs: make(chan *keyJob, queue), maxBatch: maxBatch}
	for range workers {
		b.wg.Add(1)
		go b.work()
	}
	return b
}

// insert stores the job's key with the keys of other callers. Its result
// says alone when the caller must store the key by itself; it fails only
// when ctx ends before the key was taken into a batch.
func (b *keyBatcher) insert(ctx context.Context, job *keyJob) (keyResult, error) {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return keyResult{}, fmt.Errorf("insert key: %w: store closed", store.ErrUnavailable)
	}
	select {
	case b.jobs <- job:
		b.mu.RUnlock()
	default:
		// Every worker is busy and the queue is full: insert alone, which
		// is bounded by the pool's acquire timeout.
		b.mu.RUnlock()
		return keyResult{alone: true}, nil
	}
	select {
	case r := <-job.done:
		return r, nil
	case <-ctx.Done():
		if job.state.CompareAndSwap(jobQueued, jobAbandoned) {
			return keyResult{}, fmt.Errorf("insert key: %w: %w", store.ErrUnavailable, ctx.Err())
		}
		// The key is in a batch already: its outcome must be reported.
		return <-job.done, nil
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
	results, err := b.db.storeBatch(live)
	inserted := 0
	for i, j := range live {
		if err != nil {
			j.done <- keyResult{alone: true}
			continue
		}
		if results[i].id != 0 {
			inserted++
		}
		j.done <- results[i]
	}
	if inserted > 0 {
		b.batches.Add(1)
		b.batched.Add(int64(inserted))
	}
}

// storeBatchTimeout bounds one batch.
const storeBatchTimeout = 10 * time.Second

// storeBatch stores the jobs' keys with storeKeys.
func (db *DB) storeBatch(jobs []*keyJob) ([]keyResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeBatchTimeout)
	defer cancel()
	var results []keyResult
	err := db.runKeepCache(ctx, "insert keys", store.ErrMissingParent, func(ctx context.Context, conn *pgx.Conn) (err error) {
		results, err = storeKeys(ctx, conn, jobs, false)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrUnavailable) {
		db.opts.Logger.Warn("postgres: a batch of keys failed; storing them one by one", "keys", len(jobs), "err", err)
	}
	return results, err
}
