package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/engine/scheduler"
)

// mapGraph is a dependency graph given as node -> dependencies.
type mapGraph map[string][]string

func (g mapGraph) Nodes() []string {
	var ns []string
	for n := range g {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

func (g mapGraph) Dependencies(n string) []string { return g[n] }

func (g mapGraph) Dependents(n string) []string {
	var ds []string
	for m, deps := range g {
		for _, d := range deps {
			if d == n {
				ds = append(ds, m)
			}
		}
	}
	sort.Strings(ds)
	return ds
}

// recorder is a Task that records start and end order and fails the nodes
// it is told to.
type recorder struct {
	mu      sync.Mutex
	started []string
	ended   map[string]bool
	fail    map[string]bool
	delay   map[string]time.Duration
	active  int
	peak    int
}

func (r *recorder) task(g mapGraph, t *testing.T) scheduler.Task {
	return func(ctx context.Context, n string) error {
		r.mu.Lock()
		for _, d := range g[n] {
			if !r.ended[d] {
				t.Errorf("%s started before its dependency %s ended", n, d)
			}
		}
		r.started = append(r.started, n)
		r.active++
		r.peak = max(r.peak, r.active)
		r.mu.Unlock()
		select {
		case <-time.After(r.delay[n]):
		case <-ctx.Done():
			r.mu.Lock()
			r.active--
			r.mu.Unlock()
			return ctx.Err()
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.active--
		r.ended[n] = true
		if r.fail[n] {
			return errors.New(n + " broke")
		}
		return nil
	}
}

func newRecorder() *recorder {
	return &recorder{ended: map[string]bool{}, fail: map[string]bool{}, delay: map[string]time.Duration{}}
}

// demo is the diamond of the example deployment plus an independent branch.
var demo = mapGraph{
	"network":    nil,
	"security":   {"network"},
	"database":   {"network", "security"},
	"storage":    {"security"},
	"app":        {"database", "storage"},
	"monitoring": {"app"},
	"dns":        nil,
	"cdn":        {"dns"},
}

func TestRun_AllSucceedInOrder(t *testing.T) {
	r := newRecorder()
	out := scheduler.Run(context.Background(), demo, scheduler.Options{Parallel: 3}, r.task(demo, t))
	if got, want := len(out), len(demo); got != want {
		t.Fatalf("outcomes = %d, want %d", got, want)
	}
	for n, o := range out {
		if o.Status != scheduler.Succeeded {
			t.Errorf("%s: %s (%s), want succeeded", n, o.Status, o.Reason)
		}
	}
	if r.peak > 3 {
		t.Errorf("peak concurrency %d exceeds --parallel 3", r.peak)
	}
}

func TestRun_FailureSkipsDependentsOnly(t *testing.T) {
	r := newRecorder()
	r.fail["security"] = true
	var skipped []string
	opts := scheduler.Options{Parallel: 2, OnSkip: func(n, reason string) {
		skipped = append(skipped, n+": "+reason)
	}}
	out := scheduler.Run(context.Background(), demo, opts, r.task(demo, t))
	want := map[string]scheduler.Status{
		"network": scheduler.Succeeded, "security": scheduler.Failed,
		"database": scheduler.Skipped, "storage": scheduler.Skipped,
		"app": scheduler.Skipped, "monitoring": scheduler.Skipped,
		"dns": scheduler.Succeeded, "cdn": scheduler.Succeeded,
	}
	for n, s := range want {
		if got := out[n].Status; got != s {
			t.Errorf("%s = %s, want %s", n, got, s)
		}
	}
	if got, want := out["app"].Reason, "dependency security failed"; got != want {
		t.Errorf("app reason = %q, want %q", got, want)
	}
	if got, want := len(skipped), 4; got != want {
		t.Errorf("OnSkip called %d times (%v), want %d", got, skipped, want)
	}
	if out["security"].Err == nil {
		t.Error("failed outcome carries no error")
	}
}

func TestRun_FailFastStartsNothingNew(t *testing.T) {
	g := mapGraph{"a": nil, "b": {"a"}, "c": nil, "d": {"c"}}
	r := newRecorder()
	r.fail["a"] = true
	r.delay["c"] = 50 * time.Millisecond
	out := scheduler.Run(context.Background(), g, scheduler.Options{Parallel: 2, FailFast: true}, r.task(g, t))
	if got, want := out["c"].Status, scheduler.Succeeded; got != want {
		t.Errorf("c (already running) = %s, want %s", got, want)
	}
	if got, want := out["d"].Status, scheduler.Skipped; got != want {
		t.Errorf("d = %s, want %s", got, want)
	}
	if got, want := out["d"].Reason, "not started: --fail-fast after a failed"; got != want {
		t.Errorf("d reason = %q, want %q", got, want)
	}
}

func TestRun_CancelStopsEverything(t *testing.T) {
	g := mapGraph{"a": nil, "b": {"a"}}
	r := newRecorder()
	r.delay["a"] = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	var skipped []string
	out := scheduler.Run(ctx, g, scheduler.Options{Parallel: 1, OnSkip: func(n, _ string) { skipped = append(skipped, n) }}, r.task(g, t))
	for _, n := range []string{"a", "b"} {
		if got := out[n].Status; got != scheduler.Cancelled {
			t.Errorf("%s = %s, want cancelled", n, got)
		}
	}
	// a ran (and recorded its own cancellation); only b never ran.
	if strings.Join(skipped, ",") != "b" {
		t.Errorf("OnSkip for %v, want [b]: a node whose task ran is not reported as not run", skipped)
	}
}

func TestRun_PriorityPicksLongestChainFirst(t *testing.T) {
	g := mapGraph{"a-short": nil, "z-long": nil, "z-long2": {"z-long"}}
	r := newRecorder()
	prio := map[string]float64{"a-short": 1, "z-long": 2, "z-long2": 1}
	scheduler.Run(context.Background(), g, scheduler.Options{Parallel: 1,
		Priority: func(n string) float64 { return prio[n] }}, r.task(g, t))
	if got, want := r.started[0], "z-long"; got != want {
		t.Errorf("first started = %s, want %s", got, want)
	}
}

func TestRun_LayeredWaitsForWholeLayer(t *testing.T) {
	// The scheduler's own goroutine records what it does: it starts a
	// node (OnStart) and takes in a node's success (it then asks for the
	// node's dependents). slow ends only once the scheduler has taken in
	// fast's success, so without layers after-fast would start before
	// slow's success is taken in; with layers it must wait for it.
	g := mapGraph{"slow": nil, "fast": nil, "after-fast": {"fast"}}
	var mu sync.Mutex
	var seq []string
	fastTaken := make(chan struct{})
	rg := &recordingGraph{mapGraph: g, taken: func(n string) {
		mu.Lock()
		seq = append(seq, "took "+n)
		mu.Unlock()
		if n == "fast" {
			close(fastTaken)
		}
	}}
	opts := scheduler.Options{Parallel: 3, Layered: true, OnStart: func(n string) {
		mu.Lock()
		seq = append(seq, "start "+n)
		mu.Unlock()
	}}
	out := scheduler.Run(context.Background(), rg, opts, func(ctx context.Context, n string) error {
		if n == "slow" {
			select {
			case <-fastTaken:
			case <-time.After(30 * time.Second): // a guard: only a hang ends here
				return errors.New("fast's success was never taken in")
			}
		}
		return nil
	})
	for n, o := range out {
		if o.Status != scheduler.Succeeded {
			t.Errorf("%s: %s (%s %v)", n, o.Status, o.Reason, o.Err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	pos := map[string]int{}
	for i, e := range seq {
		pos[e] = i
	}
	if pos["start after-fast"] < pos["took slow"] {
		t.Errorf("after-fast started before slow, of the layer before, was done: %v", seq)
	}
}

// recordingGraph calls taken when the scheduler asks for a node's
// dependents: it does so when it takes in the node's success.
type recordingGraph struct {
	mapGraph
	taken func(node string)
}

func (g *recordingGraph) Dependents(n string) []string {
	g.taken(n)
	return g.mapGraph.Dependents(n)
}

// skewed is a graph where one long chain and many short independent stacks
// share layers: the shape where layer-by-layer scheduling loses most.
func skewed() (mapGraph, map[string]time.Duration) {
	g := mapGraph{}
	d := map[string]time.Duration{}
	unit := 20 * time.Millisecond
	prev := ""
	for i := 0; i < 5; i++ { // the long chain: 5 × 4 units
		n := fmt.Sprintf("chain-%d", i)
		if prev != "" {
			g[n] = []string{prev}
		} else {
			g[n] = nil
		}
		d[n] = 4 * unit
		prev = n
	}
	for i := 0; i < 5; i++ { // a slow stack in each layer of a second chain
		n := fmt.Sprintf("wide-%d", i)
		if i > 0 {
			g[n] = []string{fmt.Sprintf("wide-%d", i-1)}
		} else {
			g[n] = nil
		}
		d[n] = unit
		if i%2 == 0 {
			d[n] = 6 * unit
		}
	}
	return g, d
}

// criticalPath is the longest sum of durations along a dependency chain.
func criticalPath(g mapGraph, d map[string]time.Duration) time.Duration {
	memo := map[string]time.Duration{}
	var f func(string) time.Duration
	f = func(n string) time.Duration {
		if v, ok := memo[n]; ok {
			return v
		}
		var best time.Duration
		for _, dep := range g[n] {
			best = max(best, f(dep))
		}
		memo[n] = best + d[n]
		return memo[n]
	}
	var cp time.Duration
	for n := range g {
		cp = max(cp, f(n))
	}
	return cp
}

// BenchmarkMakespan runs a skewed graph with sleeping tasks (what probe
// stacks with delaySeconds do, without the Pulumi engine's own cost) and
// reports the makespan as a ratio of the critical path, for the default
// scheduler and for layer-by-layer scheduling.
func BenchmarkMakespan(b *testing.B) {
	g, d := skewed()
	cp := criticalPath(g, d)
	for _, mode := range []struct {
		name    string
		layered bool
	}{{"eager", false}, {"layered", true}} {
		b.Run(mode.name, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				scheduler.Run(context.Background(), g, scheduler.Options{Parallel: 8, Layered: mode.layered},
					func(ctx context.Context, n string) error { time.Sleep(d[n]); return nil })
				total += time.Since(start)
			}
			b.ReportMetric(float64(total)/float64(b.N)/float64(cp), "makespan/critical-path")
			b.ReportMetric(float64(cp.Milliseconds()), "critical-path-ms")
		})
	}
}
