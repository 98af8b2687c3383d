// Package engine moves rows between a replica's local store and the
// team's DynamoDB table: push (local changes out), pull (the change feed
// in), full reconciliation (Scan), status and the background loop.
//
// The store stays the source of truth for local commands: the engine only
// reads its outbox and applies remote changes through store.ApplyRemote,
// so a slow or unreachable table never blocks a deploy. Ordering is
// last-writer-wins by (HLC, replica) everywhere — in the table (a push
// replaces only an older version, by compare-and-swap) and in the store
// (ApplyRemote) — so all replicas converge to the same rows; a version
// that lost to a concurrent edit is kept in the store's conflicts table.
// See docs/sync.md.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/store/hlc"
	"github.com/cloudplatform/cloud/sync/remote"
)

// Defaults of Options.
const (
	// DefaultWindow is how far back each pull re-reads the change feed:
	// the index is eventually consistent and machines' clocks differ, so
	// an item may appear slightly below a cursor already returned.
	DefaultWindow = 2 * time.Minute
	// DefaultBatch is how many outbox rows a push reads at a time.
	DefaultBatch = 200
	// pushWorkers is how many mutable rows a push writes at once.
	pushWorkers = 8
	// DefaultMaxRounds bounds Sync's push/pull rounds.
	DefaultMaxRounds = 10
	// TombstoneTTL is how long a tombstone stays in the table. It must
	// outlive every replica that could still push the row's older live
	// version: once it expired, such a stale push would bring the row
	// back. Replicas away longer than ReconcileAfter reconcile fully
	// instead of trusting their cursor (and a full reconcile applies the
	// table's versions before pushing anything).
	TombstoneTTL = 90 * 24 * time.Hour
	// ReconcileAfter: a pull whose cursor is older than this does a full
	// reconciliation instead. It is below TombstoneTTL so a returning
	// replica reconciles while every tombstone it might have missed is
	// still in the table.
	ReconcileAfter = 80 * 24 * time.Hour
)

// Names of the engine's bookkeeping values in the store (SyncValue).
const (
	keyCursor        = "pull.cursor"
	keyLastPull      = "pull.last"
	keyLastPush      = "push.last"
	keyLastReconcile = "reconcile.last"
)

// Options tune an Engine; zero values take the defaults.
type Options struct {
	Window    time.Duration    // overlap window of the change feed (DefaultWindow)
	Batch     int              // outbox rows per read (DefaultBatch)
	MaxRounds int              // Sync's bound on rounds (DefaultMaxRounds)
	Now       func() time.Time // the wall clock (time.Now); tests move it
}

// Engine syncs one store with one table. Its methods may be called from
// several goroutines; they run one at a time (a push and a pull of the same
// store interleaving would only do redundant work).
type Engine struct {
	db    *store.DB
	table *remote.Table
	opts  Options
	// clock stamps pushes (FeedHLC). It is the engine's own HLC rather than
	// the store's (which the store does not expose and whose every reading
	// is persisted): it only has to be close to real time, so items land
	// after every cursor that existed when they were pushed, and it
	// observes every HLC the engine handles so it never runs behind them.
	clock *hlc.Clock

	mu sync.Mutex // one operation at a time

	state struct {
		sync.Mutex
		lastPush, lastPull, lastErrorAt time.Time
		lastError                       error
		pending, conflicts              int
		running                         bool
		failures                        int
	}
}

// New returns an engine syncing db with table.
func New(db *store.DB, table *remote.Table, opts Options) *Engine {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.MaxRounds <= 0 {
		opts.MaxRounds = DefaultMaxRounds
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Engine{db: db, table: table, opts: opts, clock: hlc.New(opts.Now)}
}

// PushStats counts what a push did.
type PushStats struct {
	Pushed    int // items written to the table
	Clean     int // outbox rows that needed no write (already in the table, or gone)
	Lost      int // local versions refused because the table held a newer one
	Conflicts int // conflicts recorded (by this push)
}

// PullStats counts what a pull (or the pull half of a reconcile) did.
type PullStats struct {
	Read      int // items read
	Applied   int // items that changed a local row
	Conflicts int // conflicts recorded
	// Reconciled is true when the pull did a full reconciliation (no
	// cursor yet, or a cursor older than ReconcileAfter).
	Reconciled bool
}

// ReconcileStats counts what a full reconciliation did.
type ReconcileStats struct {
	Pulled    int // table items that changed a local row
	Pushed    int // local rows written to the table
	Conflicts int
	Scanned   int // table items read
}

// SyncStats sums the rounds of Sync.
type SyncStats struct {
	Rounds int
	Push   PushStats
	Pull   PullStats
	// Quiet is true when the last round moved nothing either way.
	Quiet bool
}

// toItem maps a local change to the table item, stamped with push time
// feed. opDeps (operation id -> deployment, from the same batch) and then
// the local operations table give the partition of operation_stacks rows.
func (e *Engine) toItem(ctx context.Context, c store.Change, feed string, opDeps map[string]string) (remote.Item, error) {
	dep, err := DeploymentOf(c.Entity, c.Key, c.Payload, func(opID string) (string, error) {
		if d, ok := opDeps[opID]; ok {
			return d, nil
		}
		op, err := e.db.Operation(ctx, opID)
		if err != nil {
			return "", fmt.Errorf("sync: operation_stacks %s: its operation: %w", c.Key, err)
		}
		return op.DeploymentID, nil
	})
	if err != nil {
		return remote.Item{}, err
	}
	pk, sk, err := TableKeys(c.Entity, c.Key, dep)
	if err != nil {
		return remote.Item{}, err
	}
	it := remote.Item{PK: pk, SK: sk, Entity: c.Entity, Key: c.Key, Version: c.Version, HLC: c.HLC,
		Replica: c.Replica, Deleted: c.Deleted, Payload: c.Payload, FeedHLC: feed}
	if c.Deleted {
		ts, err := hlc.Parse(c.HLC)
		if err != nil {
			return remote.Item{}, fmt.Errorf("sync: %s %s: %w", c.Entity, c.Key, err)
		}
		it.ExpiresAt = ts.Time().Add(TombstoneTTL).Unix()
	}
	return it, nil
}

// ChangeOf maps a table item back to a store change (Entity and Key are
// the item's attributes; the table keys are not parsed).
func ChangeOf(it remote.Item) store.Change {
	return store.Change{Entity: it.Entity, Key: it.Key, Version: it.Version, HLC: it.HLC, Replica: it.Replica,
		Deleted: it.Deleted, Payload: it.Payload, AppendOnly: IsAppendOnly(it.Entity)}
}

// synced reports whether an item is a synced row (not a lease or another
// kind of record sharing the table).
func synced(it remote.Item) bool {
	_, ok := shapes[it.Entity]
	return ok && it.HLC != "" && it.Key != nil && it.Payload != nil
}

func (e *Engine) observe(h string) {
	if ts, err := hlc.Parse(h); err == nil {
		e.clock.Observe(ts)
	}
}

// Push sends the local changes waiting in the outbox, batch after batch,
// until the outbox is empty (or it has read as many batches as it held
// rows when it started, so a store written continuously cannot keep it
// busy forever).
//
// Mutable rows are written over their base (the version this replica
// last knew in the table) with a compare-and-swap; see putMutable for how
// a refusal becomes a conflict. Append-only rows go in batches of 25.
func (e *Engine) Push(ctx context.Context) (PushStats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, err := e.push(ctx)
	e.after(ctx, err, func() { e.state.lastPush = e.opts.Now() })
	if err == nil {
		err = e.db.SetSyncValue(ctx, keyLastPush, e.opts.Now().UTC().Format(time.RFC3339Nano))
	}
	return st, err
}

func (e *Engine) push(ctx context.Context) (PushStats, error) {
	var st PushStats
	total, err := e.db.PendingOutbox(ctx)
	if err != nil {
		return st, err
	}
	maxBatches := total/e.opts.Batch + 2
	for range maxBatches {
		pending, err := e.db.PendingChanges(ctx, e.opts.Batch)
		if err != nil {
			return st, err
		}
		if len(pending) == 0 {
			return st, nil
		}
		if err := e.pushBatch(ctx, pending, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

func (e *Engine) pushBatch(ctx context.Context, pending []store.Pending, st *PushStats) error {
	feed := e.clock.Now().String()
	opDeps := map[string]string{}
	for _, p := range pending {
		if p.Entity == "operations" && p.Payload != nil {
			if d, err := DeploymentOf(p.Entity, p.Key, p.Payload, nil); err == nil {
				var k []string
				if json.Unmarshal(p.Key, &k) == nil && len(k) == 1 {
					opDeps[k[0]] = d
				}
			}
		}
	}
	var batch []remote.Item
	var batchPending []store.Pending
	var mutable []store.Pending
	var items []remote.Item
	for _, p := range pending {
		e.observe(p.HLC)
		if p.Payload == nil || (!p.AppendOnly && p.HLC == p.Base) {
			// Gone, or already a clean copy of the table's version.
			if err := e.db.AckPending(ctx, p, false); err != nil {
				return err
			}
			st.Clean++
			continue
		}
		it, err := e.toItem(ctx, p.Change, feed, opDeps)
		if err != nil {
			return err
		}
		if p.AppendOnly {
			batch = append(batch, it)
			batchPending = append(batchPending, p)
			continue
		}
		mutable = append(mutable, p)
		items = append(items, it)
	}
	// Mutable rows are written by a few workers at once: each is one
	// round trip, a batch holds each row once, and rows are independent
	// (last-writer-wins is decided per row by the table), so their order
	// does not matter. The store serialises the acknowledgements.
	var mu sync.Mutex
	var firstErr error
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(pushWorkers, len(mutable)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				var local PushStats
				p := mutable[i]
				applied, err := e.putMutable(ctx, items[i], p.Change, p.Base, &local)
				if err == nil {
					err = e.db.AckPending(ctx, p, applied)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					if applied {
						local.Pushed++
					} else {
						local.Lost++
					}
					st.add(local)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range mutable {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if len(batch) > 0 {
		if err := e.table.PutAppendOnly(ctx, batch); err != nil {
			return err
		}
		for _, p := range batchPending {
			if err := e.db.AckPending(ctx, p, true); err != nil {
				return err
			}
		}
		st.Pushed += len(batch)
	}
	return nil
}

// putMutable writes one mutable row over the table's version base (""
// when the table should have none) and records the conflict it reveals,
// if any.
//
// The write is a compare-and-swap on base (remote.PutIfVersion), so it can
// only replace a version this replica has looked at. Refused, the stored
// version is either newer — it wins: ApplyRemote installs it and records
// the local version as the loser — or older but not base: another
// replica's edit this replica never saw, concurrent with the local one,
// which loses to it. That loss is recorded before the write is retried
// over it, so no retry, lost answer or crash can overwrite a version
// without a trace.
func (e *Engine) putMutable(ctx context.Context, it remote.Item, c store.Change, base string, st *PushStats) (bool, error) {
	expect := base
	for range 8 {
		applied, cur, err := e.table.PutIfVersion(ctx, it, expect)
		if err != nil {
			return false, err
		}
		if applied {
			return true, nil
		}
		if cur == nil { // gone meanwhile (an administrator's delete)
			expect = ""
			continue
		}
		e.observe(cur.HLC)
		curChange := ChangeOf(*cur)
		if !synced(*cur) {
			return false, fmt.Errorf("sync: push %s %s: the table holds an item that is no synced row", c.Entity, c.Key)
		}
		if curChange.Newer(c) {
			_, conflict, err := e.db.ApplyRemote(ctx, curChange)
			if err != nil {
				return false, err
			}
			if conflict != nil {
				st.Conflicts++
			}
			return false, nil
		}
		if base != "" && cur.HLC <= base {
			// Older than the version this row was based on (a restored
			// table): already in this row's history, no conflict.
			expect = cur.HLC
			continue
		}
		err = e.db.RecordConflict(ctx, store.Conflict{Entity: c.Entity, Key: c.Key, Winner: c, Loser: curChange,
			DetectedAt: e.opts.Now().UTC()})
		if err != nil {
			return false, err
		}
		st.Conflicts++
		expect = cur.HLC
	}
	return false, fmt.Errorf("sync: push %s %s: the table's version kept changing; try again", c.Entity, c.Key)
}

// Pull reads the change feed from the saved cursor (minus the overlap
// window) to now and applies every item (ApplyRemote is idempotent: items
// seen before, this replica's own included, are skipped). Without a
// cursor, or with one older than ReconcileAfter, it reconciles fully
// instead (Reconcile's push half included).
func (e *Engine) Pull(ctx context.Context) (PullStats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, err := e.pull(ctx)
	e.after(ctx, err, func() { e.state.lastPull = e.opts.Now() })
	return st, err
}

func (e *Engine) pull(ctx context.Context) (PullStats, error) {
	var st PullStats
	cursor, err := e.db.SyncValue(ctx, keyCursor)
	if err != nil {
		return st, err
	}
	start := e.opts.Now()
	if cursor == "" || cursorTime(cursor).Before(start.Add(-ReconcileAfter)) {
		rs, err := e.reconcile(ctx)
		return PullStats{Read: rs.Scanned, Applied: rs.Pulled, Conflicts: rs.Conflicts, Reconciled: true}, err
	}
	since, err := remote.Rewind(cursor, e.opts.Window)
	if err != nil {
		return st, err
	}
	last, err := e.table.Changes(ctx, since, start, func(it remote.Item) error {
		st.Read++
		if !synced(it) {
			return nil
		}
		return e.apply(ctx, it, &st.Applied, &st.Conflicts)
	})
	// Even after an error, what was applied stays applied: the cursor
	// moves to the last item accepted, never backwards (Changes returns
	// since itself, the rewound cursor, when it read nothing).
	next := maxString(cursor, last)
	if err == nil {
		// A quiet feed still moves the cursor up to the window's edge, so
		// a replica that sees no traffic does not re-read ever more empty
		// hour buckets.
		next = maxString(next, remote.Cursor(start.Add(-e.opts.Window)))
	}
	if serr := e.db.SetSyncValue(ctx, keyCursor, next); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return st, err
	}
	return st, e.db.SetSyncValue(ctx, keyLastPull, e.opts.Now().UTC().Format(time.RFC3339Nano))
}

func (e *Engine) apply(ctx context.Context, it remote.Item, applied, conflicts *int) error {
	e.observe(it.HLC)
	a, c, err := e.db.ApplyRemote(ctx, ChangeOf(it))
	if err != nil {
		return err
	}
	if a != store.Skipped {
		*applied++
	}
	if c != nil {
		*conflicts++
	}
	return nil
}

func cursorTime(cursor string) time.Time {
	if len(cursor) < 20 {
		return time.Time{}
	}
	ts, err := hlc.Parse(cursor[:20])
	if err != nil {
		return time.Time{}
	}
	return ts.Time()
}

// maxString returns the larger of two cursors: both start with a
// fixed-width hex HLC, so they compare as text.
func maxString(a, b string) string {
	if b > a {
		return b
	}
	return a
}

// Reconcile is the full reconciliation, and how a new replica starts: it
// scans the whole table and applies every item, pushes the outbox, then
// writes every local row the table lacks or holds an older version of
// (a table recreated or restored, a push lost before its outbox entry was
// kept). The feed cursor is then set to the scan's start minus the
// window: everything pushed before the scan began was in the scan.
func (e *Engine) Reconcile(ctx context.Context) (ReconcileStats, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, err := e.reconcile(ctx)
	e.after(ctx, err, func() { now := e.opts.Now(); e.state.lastPull, e.state.lastPush = now, now })
	return st, err
}

type version struct{ hlc, replica string }

func (e *Engine) reconcile(ctx context.Context) (ReconcileStats, error) {
	var st ReconcileStats
	start := e.opts.Now()
	remoteVersions := map[string]version{}
	err := e.table.Scan(ctx, func(it remote.Item) error {
		st.Scanned++
		if !synced(it) {
			return nil
		}
		remoteVersions[it.Entity+"|"+string(it.Key)] = version{it.HLC, it.Replica}
		return e.apply(ctx, it, &st.Pulled, &st.Conflicts)
	})
	if err != nil {
		return st, err
	}
	ps, err := e.push(ctx)
	st.Pushed += ps.Pushed
	st.Conflicts += ps.Conflicts
	if err != nil {
		return st, err
	}
	// Local rows the table lacks or has older: collected first, written
	// after, so no read of the store stays open across network calls.
	var missing []store.Change
	err = e.db.Rows(ctx, func(c store.Change, base string) error {
		r, ok := remoteVersions[c.Entity+"|"+string(c.Key)]
		if !ok || (!c.AppendOnly && (c.HLC > r.hlc || (c.HLC == r.hlc && c.Replica > r.replica))) {
			missing = append(missing, c)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	feed := e.clock.Now().String()
	var batch []remote.Item
	var ps2 PushStats
	for _, c := range missing {
		e.observe(c.HLC)
		it, err := e.toItem(ctx, c, feed, nil)
		if err != nil {
			return st, err
		}
		if c.AppendOnly {
			batch = append(batch, it)
			continue
		}
		// The base is the table's version seen by the scan: the write
		// replaces exactly that unless someone wrote meanwhile.
		base := remoteVersions[c.Entity+"|"+string(c.Key)].hlc
		applied, err := e.putMutable(ctx, it, c, base, &ps2)
		if err != nil {
			return st, err
		}
		if applied {
			st.Pushed++
			// Mark the row synced (no outbox entries: Seq 0 drops none).
			if err := e.db.AckPending(ctx, store.Pending{Change: c}, true); err != nil {
				return st, err
			}
		}
	}
	if len(batch) > 0 {
		if err := e.table.PutAppendOnly(ctx, batch); err != nil {
			return st, err
		}
		st.Pushed += len(batch)
	}
	st.Conflicts += ps2.Conflicts
	now := e.opts.Now().UTC().Format(time.RFC3339Nano)
	for k, v := range map[string]string{
		keyCursor: remote.Cursor(start.Add(-e.opts.Window)), keyLastReconcile: now, keyLastPull: now, keyLastPush: now,
	} {
		if err := e.db.SetSyncValue(ctx, k, v); err != nil {
			return st, err
		}
	}
	return st, nil
}

// Sync pushes then pulls, round after round, until a round moves nothing
// either way (quiet) or MaxRounds rounds have run.
func (e *Engine) Sync(ctx context.Context) (SyncStats, error) {
	var total SyncStats
	for total.Rounds < e.opts.MaxRounds {
		total.Rounds++
		ps, err := e.Push(ctx)
		total.Push.add(ps)
		if err != nil {
			return total, err
		}
		pl, err := e.Pull(ctx)
		total.Pull.add(pl)
		if err != nil {
			return total, err
		}
		if ps.Pushed == 0 && ps.Lost == 0 && pl.Applied == 0 && !pl.Reconciled {
			total.Quiet = true
			break
		}
	}
	return total, nil
}

func (s *PushStats) add(o PushStats) {
	s.Pushed += o.Pushed
	s.Clean += o.Clean
	s.Lost += o.Lost
	s.Conflicts += o.Conflicts
}

func (s *PullStats) add(o PullStats) {
	s.Read += o.Read
	s.Applied += o.Applied
	s.Conflicts += o.Conflicts
	s.Reconciled = s.Reconciled || o.Reconciled
}

// Status is what `cloud sync status` shows.
type Status struct {
	Table         string     `json:"table"`
	Replica       string     `json:"replica"`
	Pending       int        `json:"pending"` // local rows waiting to be pushed
	LastPush      *time.Time `json:"lastPush,omitempty"`
	LastPull      *time.Time `json:"lastPull,omitempty"`
	LastReconcile *time.Time `json:"lastReconcile,omitempty"`
	Cursor        string     `json:"cursor,omitempty"`
	Conflicts     int        `json:"conflicts"` // open conflicts
}

// Status reads the engine's bookkeeping from the store; it does not
// contact the table.
func (e *Engine) Status(ctx context.Context) (Status, error) {
	s := Status{Table: e.table.Name(), Replica: e.db.ReplicaID()}
	n, err := PendingCount(ctx, e.db)
	if err != nil {
		return s, err
	}
	s.Pending = n
	cs, err := e.db.Conflicts(ctx, false)
	if err != nil {
		return s, err
	}
	s.Conflicts = len(cs)
	if s.Cursor, err = e.db.SyncValue(ctx, keyCursor); err != nil {
		return s, err
	}
	for name, dst := range map[string]**time.Time{keyLastPush: &s.LastPush, keyLastPull: &s.LastPull, keyLastReconcile: &s.LastReconcile} {
		v, err := e.db.SyncValue(ctx, name)
		if err != nil {
			return s, err
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			*dst = &t
		}
	}
	return s, nil
}

// PendingCount returns how many local rows wait to be pushed (rows whose
// outbox entries need no write — already clean copies — do not count).
func PendingCount(ctx context.Context, db *store.DB) (int, error) {
	ps, err := db.PendingChanges(ctx, 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range ps {
		if p.Payload != nil && (p.AppendOnly || p.HLC != p.Base) {
			n++
		}
	}
	return n, nil
}

// after records the outcome of an operation for the getters, and
// refreshes the pending and conflict counts.
func (e *Engine) after(ctx context.Context, err error, ok func()) {
	pending, perr := PendingCount(ctx, e.db)
	cs, cerr := e.db.Conflicts(ctx, false)
	e.state.Lock()
	defer e.state.Unlock()
	if err == nil {
		ok()
		e.state.failures = 0
	} else {
		e.state.lastError, e.state.lastErrorAt = err, e.opts.Now()
		e.state.failures++
	}
	if perr == nil {
		e.state.pending = pending
	}
	if cerr == nil {
		e.state.conflicts = len(cs)
	}
}

// ErrStopped is Run's result when its context ends.
var ErrStopped = errors.New("sync loop stopped")
