// Package feed streams stored events to subscribers: what they missed from
// the store, then live events, with no gap and no duplicate.
//
// # How
//
// A subscription is a cursor, not a copy of a live bus. Its goroutine (the
// pump) hands the subscriber the events after its position, one by one,
// from one of two sources:
//
//   - the store, through store.DB.EventsAfter, while the subscriber is
//     catching up;
//   - the hub's window: the most recent events of the whole database
//     (Options.Window of them), which one goroutine of the hub (the tail)
//     reads once per commit and all subscribers share. A subscriber whose
//     position is inside the window reads nothing from the store.
//
// The tail reads the events after the last one it has, in GlobalSeq order,
// when this process commits events (store.DB.EventsChanged) and every
// Options.PollInterval for commits of other processes on the same file,
// such as the CLI. Because an event is durable before anyone is woken and
// GlobalSeq increases in commit order, "the events after my position" read
// from either source can neither skip nor repeat one. A subscriber whose
// position falls out of the window goes back to the store.
//
// The writer never waits for a subscriber: it only closes a channel, and
// the tail reads through the store's reader pool. A subscriber that stops
// taking events is cut off after Options.SlowTimeout with an Overflow item
// saying where to resume, so it neither delays anyone nor holds memory and
// a goroutine forever.
package feed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// Options tunes a Hub. Zero values take the defaults.
type Options struct {
	// Buffer is how many events the hub holds for one subscriber ahead of
	// its consumer: picked, not yet taken. Default 256. (The channel
	// itself holds one item, so the hub always knows exactly which events
	// the consumer has taken.)
	Buffer int

	// SlowTimeout is how long a subscriber may leave an event untaken
	// while the hub has more for it before it is cut off with an Overflow.
	// Default 10s.
	SlowTimeout time.Duration

	// PollInterval is how often the hub looks for events committed by
	// other processes sharing the database file, which do not wake this
	// process. Default 250ms; negative disables polling (only this
	// process writes the file).
	PollInterval time.Duration

	// Batch is the most events one store read returns. Default 512.
	Batch int

	// Window is how many of the most recent events (of the whole
	// database) the hub keeps in memory, shared by the subscribers that
	// have caught up; it holds between Window and twice as many. Default
	// 4096.
	Window int

	// Coalesce is the shortest time between two reads of new events for
	// the subscribers that have caught up. Under a burst, the events of
	// that time travel together: each subscriber gets one message instead
	// of one per event, which is what keeps a hundred subscribers of a
	// thousand events a second within two cores. An event that comes
	// after a quiet period is read at once. Default 10ms; negative
	// disables coalescing.
	Coalesce time.Duration
}

// Defaults of Options.
const (
	DefaultBuffer       = 256
	DefaultSlowTimeout  = 10 * time.Second
	DefaultPollInterval = 250 * time.Millisecond
	DefaultBatch        = 512
	DefaultWindow       = 4096
	DefaultCoalesce     = 10 * time.Millisecond
)

// ReasonSlow is the Overflow reason of a subscriber cut off for not taking
// its events for Options.SlowTimeout.
const ReasonSlow = "subscriber too slow"

// ErrClosed is returned by Subscribe after Close.
var ErrClosed = errors.New("feed: hub closed")

// Item is one message of a subscription: one or more consecutive events,
// or an Overflow. Events that are ready together go in one Item (up to
// Buffer): a subscriber that is behind catches up in few messages, and the
// cost of a message (encoding, a WebSocket frame) is paid per batch rather
// than per event. An Overflow is always the last item before the channel
// closes. Events are shared between subscribers: read them, do not modify
// them.
type Item struct {
	Events   []*store.Event
	Overflow *Overflow
}

// Overflow ends a subscription that was cut off: the subscriber was too
// slow (Reason is ReasonSlow) or the store could not be read (Reason says
// why). ResumeAfter is the position of the last event the subscriber took
// from the channel — its Seq in an operation stream, its GlobalSeq
// otherwise — or the position it subscribed after if it took none.
// Subscribing again after ResumeAfter continues with no gap and no
// duplicate.
type Overflow struct {
	ResumeAfter int64
	Reason      string
}

// Stats are a hub's counters.
type Stats struct {
	Subscribers int   // subscriptions currently open
	Delivered   int64 // events handed to subscribers since New
	Overflows   int64 // subscriptions cut off with an Overflow since New
}

// Hub serves subscriptions on one store. It is safe for concurrent use.
type Hub struct {
	db   *store.DB
	opts Options

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // pumps and the tail

	mu       sync.Mutex // guards closed and wg.Add against Close
	closed   bool
	tailOnce sync.Once

	win window

	subscribers atomic.Int64
	delivered   atomic.Int64
	overflows   atomic.Int64
}

// window is the hub's shared memory of recent events: every event with
// from < GlobalSeq <= to is in events, in GlobalSeq order.
type window struct {
	mu      sync.RWMutex
	events  []*store.Event
	from    int64
	to      int64
	started bool          // the tail has read its starting position
	grown   chan struct{} // closed (and replaced) when events are added
}

// New returns a hub reading db; its goroutine starts at the first
// Subscribe. Close the hub before db (it does not close db).
func New(db *store.DB, opts Options) *Hub {
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.SlowTimeout <= 0 {
		opts.SlowTimeout = DefaultSlowTimeout
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.Coalesce == 0 {
		opts.Coalesce = DefaultCoalesce
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	h := &Hub{db: db, opts: opts}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.win.grown = make(chan struct{})
	return h
}

// Subscribe streams the events selected by f (see store.EventFilter) with
// a position after after: the stored ones first, then live ones as they
// are committed, in position order, each once. ctx bounds the
// subscription, not just the call.
//
// An operation stream (f.OperationID set) is positioned by the events'
// Seq; Subscribe returns an error wrapping store.ErrNotFound if the
// operation does not exist, and the channel closes after the last event
// of the operation once it has finished (it is no longer queued or
// running) — at once, after the remaining events, for an operation that
// already finished. A deployment stream (f.DeploymentID set, no
// OperationID) is positioned by GlobalSeq and never ends on its own; a
// deployment without events (or unknown) is not an error, its stream
// waits for them. A filter naming neither follows every deployment.
//
// The channel also closes when ctx is done or the hub is closed, and
// after an Overflow item when the subscription is cut off. The consumer
// should receive until the channel is closed.
func (h *Hub) Subscribe(ctx context.Context, f store.EventFilter, after int64) (<-chan Item, error) {
	if f.OperationID == "" && f.DeploymentID == "" && f.Environment != "" {
		return nil, errors.New("feed: subscribe: an environment needs its deployment")
	}
	if after < 0 {
		after = 0
	}
	if f.ByOperation() {
		if _, err := h.db.Operation(ctx, f.OperationID); err != nil {
			return nil, fmt.Errorf("feed: subscribe: %w", err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	h.tailOnce.Do(func() {
		h.wg.Add(1)
		go h.tail()
	})
	ch := make(chan Item, 1)
	p := &pump{h: h, f: f, out: ch, pos: after, inSlot: after, taken: after, end: -1}
	if f.ByOperation() {
		p.g = -1 // unknown until the first store read
	} else {
		p.g = after
	}
	h.subscribers.Add(1)
	h.wg.Add(1)
	go p.run(ctx)
	return ch, nil
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	return Stats{
		Subscribers: int(h.subscribers.Load()),
		Delivered:   h.delivered.Load(),
		Overflows:   h.overflows.Load(),
	}
}

// Close ends every subscription (their channels are closed, without an
// Overflow) and stops the tail, and returns once they have stopped.
// Subscribe fails with ErrClosed afterwards. Close is idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	h.cancel()
	h.mu.Unlock()
	h.wg.Wait()
}

// tail keeps the window: it reads the events after the newest one it has
// when this process commits events, every PollInterval while there are
// subscribers (for other processes' commits), and after a failed read.
func (h *Hub) tail() {
	defer h.wg.Done()
	var tick <-chan time.Time
	if h.opts.PollInterval > 0 {
		t := time.NewTicker(h.opts.PollInterval)
		defer t.Stop()
		tick = t.C
	}
	retry := time.NewTimer(0) // the first read is the starting position
	defer retry.Stop()
	var changed <-chan struct{}
	idle := true // polls were skipped: other processes may have written a lot
	var lastRead time.Time
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-changed:
		case <-retry.C:
			idle = true
		case <-tick:
			if h.subscribers.Load() == 0 {
				idle = true
				continue
			}
		}
		// Within Coalesce of the last read, let the burst gather first.
		if wait := h.opts.Coalesce - time.Since(lastRead); wait > 0 {
			select {
			case <-time.After(wait):
			case <-h.ctx.Done():
				return
			}
		}
		lastRead = time.Now()
		// Take the channel before reading: a commit the read misses
		// closes it.
		changed = h.db.EventsChanged()
		if err := h.readTail(idle); err != nil {
			if h.ctx.Err() != nil {
				return
			}
			retry.Reset(min(time.Second, max(10*time.Millisecond, h.opts.PollInterval)))
			continue
		}
		idle = false
	}
}

// readTail appends to the window the events committed since its newest
// one, batch by batch, waking the subscribers after each batch. After an
// idle period (or at the start), if the window is more than Window events
// behind, it first restarts it empty Window events before the end (at the
// end at the start).
func (h *Hub) readTail(idle bool) error {
	w := &h.win
	if idle {
		last, err := h.db.LastGlobalSeq(h.ctx)
		if err != nil {
			return err
		}
		w.mu.Lock()
		if !w.started || last-w.to > int64(h.opts.Window) {
			start := last
			if w.started {
				start = last - int64(h.opts.Window)
			}
			w.events, w.from, w.to, w.started = nil, start, start, true
			w.grow()
		}
		w.mu.Unlock()
	}
	w.mu.RLock()
	after := w.to
	w.mu.RUnlock()
	for {
		evs, err := h.db.AllEventsAfter(h.ctx, after, h.opts.Batch)
		if err != nil || len(evs) == 0 {
			return err
		}
		w.mu.Lock()
		for i := range evs {
			w.events = append(w.events, &evs[i])
		}
		after = evs[len(evs)-1].GlobalSeq
		w.to = after
		if drop := len(w.events) - h.opts.Window; drop >= h.opts.Window {
			// Trim in bulk, so trimming costs O(1) per event.
			w.from = w.events[drop-1].GlobalSeq
			w.events = append([]*store.Event(nil), w.events[drop:]...)
		}
		w.grow()
		w.mu.Unlock()
		if len(evs) < h.opts.Batch {
			return nil
		}
	}
}

// grow wakes the pumps waiting for the window. w.mu is held.
func (w *window) grow() {
	close(w.grown)
	w.grown = make(chan struct{})
}

// pump is one subscription's goroutine and state.
type pump struct {
	h   *Hub
	f   store.EventFilter
	out chan Item // capacity 1

	queue []*store.Event // picked, not yet sent; queue[head:] is pending
	head  int
	more  bool          // there may be selected events after g not picked yet
	wake  chan struct{} // the window's grown channel when it was last scanned

	// pos is the stream position (Seq or GlobalSeq) of the last event
	// picked. g is the global position up to which every selected event
	// has been picked (-1: not known yet).
	pos, g int64
	// For operation streams: seen is the highest Seq of the operation
	// looked at (selected or not), end the Seq of its last event once it
	// is known to have finished (-1 before), last that every event up to
	// end has been picked. status is set when an operation.status event
	// of the operation was looked at since the operation row was last
	// read: it may have finished.
	seen, end int64
	last      bool
	status    bool

	inSlot int64 // the position of the item last sent
	taken  int64 // the position of the item sent before it: certainly taken
}

func (p *pump) run(ctx context.Context) {
	h := p.h
	defer h.wg.Done()
	defer close(p.out)
	defer h.subscribers.Add(-1) // before the close, so a consumer that saw it closed sees the count

	slow := time.NewTimer(h.opts.SlowTimeout)
	slow.Stop()
	armed := false
	p.more = true
	for ctx.Err() == nil && h.ctx.Err() == nil {
		pending := len(p.queue) - p.head
		if p.more && !p.last && pending <= h.opts.Buffer/2 {
			if err := p.fill(ctx, h.opts.Buffer-pending); err != nil {
				if ctx.Err() != nil || h.ctx.Err() != nil {
					return
				}
				p.cutOff(fmt.Sprintf("reading events: %v", err))
				return
			}
			// Fill until there is nothing more to pick (more is false:
			// wait for the window to grow) or the buffer is half full.
			continue
		}
		if pending == 0 && p.last {
			return // the operation's stream is complete
		}

		var send chan<- Item
		var item Item
		if pending > 0 {
			k := min(pending, h.opts.Buffer)
			send, item = p.out, Item{Events: slices.Clone(p.queue[p.head : p.head+k])}
			if !armed {
				slow.Reset(h.opts.SlowTimeout)
				armed = true
			}
		} else if armed {
			slow.Stop()
			armed = false
		}
		var wake <-chan struct{}
		if !p.more {
			wake = p.wake
		}
		select {
		case send <- item:
			k := len(item.Events)
			clear(p.queue[p.head : p.head+k])
			p.head += k
			if p.head == len(p.queue) {
				p.queue, p.head = p.queue[:0], 0
			}
			p.taken, p.inSlot = p.inSlot, p.f.Position(item.Events[k-1])
			h.delivered.Add(int64(k))
			slow.Stop()
			armed = false
		case <-wake:
			p.more = true
		case <-slow.C:
			p.cutOff(ReasonSlow)
			return
		case <-ctx.Done():
			return
		case <-h.ctx.Done():
			return
		}
	}
}

// fill picks up to room more events, from the window when it holds the
// events after g, from the store otherwise.
func (p *pump) fill(ctx context.Context, room int) error {
	if p.g < 0 || !p.scanWindow(room) {
		if err := p.readStore(ctx, min(room, p.h.opts.Batch)); err != nil {
			return err
		}
	}
	if p.status && p.end < 0 {
		return p.checkFinished(ctx)
	}
	return nil
}

// look notes that the pump looked at e, an event of the stream's
// operation: picked, or skipped by the filter.
func (p *pump) look(e *store.Event) {
	p.seen = max(p.seen, e.Seq)
	if e.Kind == vocab.EventOperation {
		p.status = true
	}
}

// pick queues e, a selected event.
func (p *pump) pick(e *store.Event) {
	p.queue = append(p.queue, e)
	p.pos = p.f.Position(e)
}

// scanWindow picks the selected events after g from the window. It
// reports false if the window does not hold them all (it starts after g).
func (p *pump) scanWindow(room int) bool {
	w := &p.h.win
	w.mu.RLock()
	defer w.mu.RUnlock()
	if !w.started || w.from > p.g {
		return false
	}
	p.wake = w.grown
	i := sort.Search(len(w.events), func(i int) bool { return w.events[i].GlobalSeq > p.g })
	for ; i < len(w.events) && room > 0; i++ {
		e := w.events[i]
		p.g = e.GlobalSeq
		if p.f.ByOperation() && e.OperationID == p.f.OperationID {
			p.look(e)
		}
		if p.f.Match(e) {
			p.pick(e)
			room--
		}
	}
	p.more = i < len(w.events)
	if !p.more {
		p.g = max(p.g, w.to)
	}
	p.last = p.end >= 0 && p.seen >= p.end
	return true
}

// checkFinished reads the operation's row after an operation.status event
// of it, to learn whether it finished and with which event.
func (p *pump) checkFinished(ctx context.Context) error {
	p.status = false
	op, err := p.h.db.Operation(ctx, p.f.OperationID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		p.end = p.seen // deleted: end after what was seen
	case err != nil:
		return err
	case op.Status != vocab.OpQueued && op.Status != vocab.OpRunning:
		p.end = op.LastSeq
	}
	p.last = p.end >= 0 && p.seen >= p.end
	return nil
}

// readStore picks up to limit selected events after pos from the store.
// Everything committed before the read started is seen: a short read
// moves g to the database's last GlobalSeq as of then (skipping the
// events the filter drops) and, for an operation that had finished, marks
// the stream's end.
func (p *pump) readStore(ctx context.Context, limit int) error {
	db := p.h.db
	var op *store.Operation
	if p.f.ByOperation() {
		var err error
		op, err = db.Operation(ctx, p.f.OperationID)
		if errors.Is(err, store.ErrNotFound) {
			// Deleted since Subscribe: deliver what is left, then end.
			op, err = &store.Operation{Status: vocab.OpInterrupted, LastSeq: p.seen}, nil
		}
		if err != nil {
			return err
		}
	}
	highWater, err := db.LastGlobalSeq(ctx)
	if err != nil {
		return err
	}
	cursor := p.pos
	if !p.f.ByOperation() {
		cursor = max(p.pos, p.g)
	}
	evs, err := db.EventsAfter(ctx, p.f, cursor, limit)
	if err != nil {
		return err
	}
	for i := range evs {
		if op != nil {
			p.look(&evs[i])
		}
		p.pick(&evs[i])
	}
	if len(evs) > 0 {
		p.g = evs[len(evs)-1].GlobalSeq
	}
	// Short or full, look again: the window (or the store) may have more.
	p.more = true
	if len(evs) < limit {
		p.g = max(p.g, highWater)
		if op != nil {
			p.seen = max(p.seen, op.LastSeq)
			if op.Status != vocab.OpQueued && op.Status != vocab.OpRunning {
				p.end = op.LastSeq
			}
		}
		// Caught up, but the tail has not started yet: wait for it
		// rather than read the store again at once.
		w := &p.h.win
		w.mu.RLock()
		if !w.started {
			p.more, p.wake = false, w.grown
		}
		w.mu.RUnlock()
	}
	p.last = p.end >= 0 && p.seen >= p.end
	return nil
}

// cutOff ends the subscription with an Overflow naming the last event the
// consumer took. The channel holds at most the one item last sent: if the
// hub can take it back, the consumer never had it; otherwise the consumer
// took it. Either way the channel is then empty and only this goroutine
// sends, so the Overflow goes in without blocking.
func (p *pump) cutOff(reason string) {
	resume := p.inSlot
	select {
	case it := <-p.out:
		resume = p.taken
		p.h.delivered.Add(-int64(len(it.Events)))
	default:
	}
	p.out <- Item{Overflow: &Overflow{ResumeAfter: resume, Reason: reason}}
	p.h.overflows.Add(1)
}
