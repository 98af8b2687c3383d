package app

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/engine/graph"
	"github.com/cloudplatform/cloud/engine/scheduler"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// execute runs a checked operation, phase by phase: take the team lock,
// record the operation, schedule its stacks over the graph, and finish it
// with its status. Once recorded, it ends with a status even when ctx is
// cancelled: the bookkeeping runs on a context of its own.
func (r *run) execute(ctx context.Context, revision int) (*Report, error) {
	// The team lock comes first: a machine refused by it must not record
	// an operation, nor hold the local lock meanwhile.
	lease, err := r.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer lease.release(ctx)
	op, err := r.begin(ctx, revision, lease)
	if err != nil {
		return nil, err
	}
	// Cancel (an API call) stops an operation of this process through
	// its context.
	ctx, cancel := context.WithCancel(ctx)
	r.app.bg.track(op.ID, cancel)
	defer func() { r.app.bg.untrack(op.ID); cancel() }()
	bg := context.WithoutCancel(ctx)
	stop := r.announce(bg, revision, lease, cancel)
	defer stop()
	outcomes := r.schedule(ctx, bg)
	// Free the team lock as soon as the stacks are done; a release that
	// fails is recorded (the lease then lapses at its end).
	if err := lease.release(bg); err != nil {
		r.event(bg, "", vocab.EventTeamLock, map[string]any{"released": false, "reason": err.Error()})
	}
	return r.conclude(bg, outcomes)
}

// teamLease is the run's hold of the team lock: held is nil when the lock
// was not taken (not needed, not configured, or unreachable: then warning
// says why).
type teamLease struct {
	held    HeldTeamLock
	warning string
	once    sync.Once
	err     error
}

// release frees the team lock once; later calls return the first result.
func (l *teamLease) release(ctx context.Context) error {
	if l.held == nil {
		return nil
	}
	l.once.Do(func() {
		// The caller's context may be cancelled already: freeing the lock
		// must still be tried, briefly.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		l.err = l.held.Release(ctx)
	})
	return l.err
}

// lock takes the team lock the run needs, and tells the caller when it
// goes on without it.
func (r *run) lock(ctx context.Context) (*teamLease, error) {
	held, warning, err := r.acquireTeamLock(ctx)
	if err != nil {
		return nil, err
	}
	if warning != "" && r.req.Warn != nil {
		r.req.Warn(warning)
	}
	return &teamLease{held: held, warning: warning}, nil
}

// begin records the operation (which takes the environment's local lock)
// with who runs it, where, and under which team-lock token.
func (r *run) begin(ctx context.Context, revision int, lease *teamLease) (*store.Operation, error) {
	flags := r.req.Flags
	if lease.held != nil {
		// The fencing token is kept on the operation, so its record says
		// which acquisition of the team lock it ran under.
		flags = maps.Clone(r.req.Flags)
		if flags == nil {
			flags = map[string]any{}
		}
		flags["teamLockToken"] = lease.held.Token()
	}
	pid, pidStart, host := store.ProcessIdentity()
	op := &store.Operation{
		DeploymentID: r.dep.ID, Environment: r.env.Name,
		Kind: r.req.Kind, Status: vocab.OpRunning, Revision: revision, Command: r.req.Command, Flags: callerFlags(ctx, flags),
		Actor: r.app.actor(ctx), Host: host, PID: pid, PIDStart: pidStart, StartedAt: r.app.cfg.Now().UTC(),
	}
	if err := r.app.db.BeginOperation(ctx, op); err != nil {
		return nil, err
	}
	r.op = op
	return op, nil
}

// announce records the operation's first events: its team lock, its plan,
// and every stack pending. A lock taken over mid-run cancels the run; the
// returned stop ends that watch.
func (r *run) announce(bg context.Context, revision int, lease *teamLease, cancel context.CancelFunc) (stop func()) {
	// The store wrote the operation's first event (running) itself.
	r.replay(bg, 0)
	stop = func() {}
	switch held := lease.held; {
	case held != nil:
		r.event(bg, "", vocab.EventTeamLock, map[string]any{"taken": true, "token": held.Token(),
			"holder": held.Holder(), "until": held.Until().UTC()})
		// A lock taken over mid-run means another machine may be changing
		// the same environment: stop rather than race it.
		done := make(chan struct{})
		stop = func() { close(done) }
		go func() {
			select {
			case <-held.Lost():
				r.event(bg, "", vocab.EventTeamLock, map[string]any{"lost": true, "token": held.Token(),
					"reason": "the team lock was broken or taken over; cancelling the operation"})
				cancel()
			case <-done:
			}
		}()
	case lease.warning != "":
		r.event(bg, "", vocab.EventTeamLock, map[string]any{"taken": false, "reason": lease.warning})
	}
	// The layers are the deployment's, as status shows them, whatever the
	// order the stacks run in (a destroy runs them from the last).
	layers := map[string]int{}
	for _, n := range r.graph.Nodes() {
		layers[n] = r.plan.Layers[n]
	}
	r.event(bg, "", vocab.EventPlan, map[string]any{"kind": r.op.Kind, "stacks": r.graph.Nodes(),
		"layers": layers, "revision": revision})
	for _, name := range r.graph.Order() {
		r.transition(bg, name, vocab.StackPending, "", nil, false)
	}
	if r.req.Started != nil {
		r.req.Started(r.op, r.graph.Layers())
	}
	return stop
}

// schedule runs the stacks over the graph, longest chains first, and
// returns how each ended.
func (r *run) schedule(ctx, bg context.Context) map[string]scheduler.Outcome {
	height := heights(r.graph)
	return scheduler.Run(ctx, r.graph, scheduler.Options{
		Parallel: r.req.Parallel,
		FailFast: r.req.FailFast,
		Priority: func(n string) float64 { return float64(height[n]) },
		OnSkip: func(n, reason string) {
			status := vocab.StackSkipped
			if strings.Contains(reason, "cancelled") {
				status = vocab.StackCancelled
			}
			r.transition(bg, n, status, reason, nil, false)
		},
	}, func(ctx context.Context, name string) error {
		return r.runStack(ctx, bg, name)
	})
}

// conclude records the operation's status from its stacks' outcomes, with
// a summary of them, and returns the report: an error wrapping ErrFailed or
// ErrCancelled when it did not succeed.
func (r *run) conclude(bg context.Context, outcomes map[string]scheduler.Outcome) (*Report, error) {
	status := vocab.OpSucceeded
	var failed []string
	for _, n := range r.graph.Order() {
		switch outcomes[n].Status {
		case scheduler.Failed:
			failed = append(failed, n)
			status = vocab.OpFailed
		case scheduler.Cancelled:
			if status != vocab.OpFailed {
				status = vocab.OpCancelled
			}
		case scheduler.Skipped:
			if status == vocab.OpSucceeded {
				status = vocab.OpFailed
			}
		}
	}
	report := r.report()
	summary := map[string]any{}
	for _, s := range report.Stacks {
		summary[string(s.Status)] = toInt(summary[string(s.Status)]) + 1
	}
	errText := ""
	if len(failed) > 0 {
		errText = "failed: " + strings.Join(failed, ", ")
	} else if status == vocab.OpCancelled {
		errText = "cancelled"
	}
	id := r.op.ID
	last, err := r.app.db.LastEvents(bg, id, 1)
	if err != nil {
		return nil, err
	}
	if err := r.app.db.FinishOperation(bg, id, status, errText, summary); err != nil {
		return nil, err
	}
	// The store writes the operation's final event itself.
	if len(last) > 0 {
		r.replay(bg, last[0].Seq)
	}
	if op, err := r.app.db.Operation(bg, id); err == nil {
		report.Operation = op
	}
	switch status {
	case vocab.OpFailed:
		return report, fmt.Errorf("%w: %s", ErrFailed, errText)
	case vocab.OpCancelled:
		return report, ErrCancelled
	}
	return report, nil
}

func toInt(v any) int {
	i, _ := v.(int)
	return i
}

// heights is each node's longest chain of dependents, counted in stacks:
// starting long chains first shortens the whole run.
func heights(g *graph.Graph) map[string]int {
	h := map[string]int{}
	order := g.Order()
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		best := 0
		for _, d := range g.Dependents(n) {
			best = max(best, h[d])
		}
		h[n] = best + 1
	}
	return h
}
