package engine

import (
	"context"
	"math/rand/v2"
	"time"
)

// maxBackoff caps the delay between failed rounds of Run.
const maxBackoff = 5 * time.Minute

// Run syncs every interval until ctx ends, for `cloud serve`: one Sync
// (push then pull until quiet) per tick. A failed round is retried after
// a growing delay (interval·2^failures, capped at 5 minutes, with jitter so
// many replicas coming back after an outage do not hit the table in step)
// instead of the interval; local commands never wait for it. It returns
// ErrStopped when ctx ends.
func (e *Engine) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	e.state.Lock()
	e.state.running = true
	e.state.Unlock()
	defer func() {
		e.state.Lock()
		e.state.running = false
		e.state.Unlock()
	}()
	for {
		_, err := e.Sync(ctx)
		delay := interval
		if err != nil && ctx.Err() == nil {
			e.state.Lock()
			n := e.state.failures
			e.state.Unlock()
			d := interval << min(n, 16)
			if d <= 0 || d > maxBackoff {
				d = maxBackoff
			}
			delay = d/2 + rand.N(d/2+1)
		}
		select {
		case <-ctx.Done():
			return ErrStopped
		case <-time.After(delay):
		}
	}
}

// Running reports whether Run is looping.
func (e *Engine) Running() bool {
	e.state.Lock()
	defer e.state.Unlock()
	return e.state.running
}

// LastPush returns when a push last succeeded (zero if never, in this
// process).
func (e *Engine) LastPush() time.Time {
	e.state.Lock()
	defer e.state.Unlock()
	return e.state.lastPush
}

// LastPull returns when a pull last succeeded (zero if never, in this
// process).
func (e *Engine) LastPull() time.Time {
	e.state.Lock()
	defer e.state.Unlock()
	return e.state.lastPull
}

// PendingOutbox returns the number of local rows waiting to be pushed, as
// of the end of the last push or pull.
func (e *Engine) PendingOutbox() int {
	e.state.Lock()
	defer e.state.Unlock()
	return e.state.pending
}

// OpenConflicts returns the number of open conflicts, as of the end of the
// last push or pull.
func (e *Engine) OpenConflicts() int {
	e.state.Lock()
	defer e.state.Unlock()
	return e.state.conflicts
}

// LastError returns when the last failed operation failed and its error
// (zero and nil if none failed since the last success).
func (e *Engine) LastError() (at time.Time, err error) {
	e.state.Lock()
	defer e.state.Unlock()
	if e.state.failures == 0 {
		return time.Time{}, nil
	}
	return e.state.lastErrorAt, e.state.lastError
}

// Ready reports whether sync is healthy enough for a readiness check: the
// last push or pull did not fail. A replica that cannot reach the table is
// still usable locally, so callers may prefer to report this as degraded
// rather than not ready.
func (e *Engine) Ready() bool {
	e.state.Lock()
	defer e.state.Unlock()
	return e.state.failures == 0
}
