// Package scheduler runs the stacks of a dependency graph: each one starts
// as soon as all its dependencies have succeeded, up to a parallelism limit.
// It knows nothing of Pulumi or the store; the work of one node is a Task.
//
//	ready queue ──▶ up to N tasks ──▶ succeeded: release dependents
//	                               └▶ failed: skip every descendant (with the reason)
//
// Running layer by layer (every stack of a layer must finish before the next
// layer starts) makes a fast stack wait behind a slow one of the same layer;
// Options.Layered exists only to measure that against the default.
package scheduler

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
)

// Graph is the read-only view of a dependency graph the scheduler needs.
// engine/graph.Graph satisfies it.
type Graph interface {
	Nodes() []string
	Dependencies(node string) []string
	Dependents(node string) []string
}

// Status is how a node's run ended.
type Status string

// The statuses of Outcome.
const (
	Succeeded Status = "succeeded"
	Failed    Status = "failed"
	Skipped   Status = "skipped"
	Cancelled Status = "cancelled"
)

// Outcome is how one node's run ended, with the reason when it did not run.
type Outcome struct {
	Status Status
	Reason string
	Err    error
}

// Task does the work of one node. A nil error is success.
type Task func(ctx context.Context, node string) error

// Options tune a run.
type Options struct {
	// Parallel is the most tasks running at once (<= 0 means 1).
	Parallel int
	// FailFast stops starting new tasks after the first failure; tasks
	// already running finish.
	FailFast bool
	// Priority orders ready nodes: higher first, ties by name. A good
	// priority is the node's remaining critical path, so that long chains
	// start early.
	Priority func(node string) float64
	// Layered runs layer by layer; for comparison only.
	Layered bool
	// OnSkip is called, from the scheduler's goroutine, for every node that
	// will not run, with the reason.
	OnSkip func(node, reason string)
	// OnStart is called, from the scheduler's goroutine, just before a
	// node's task starts.
	OnStart func(node string)
}

type result struct {
	node string
	err  error
}

// Run runs task for every node of g in dependency order and returns every
// node's outcome. It returns when every started task has returned.
func Run(ctx context.Context, g Graph, opts Options, task Task) map[string]Outcome {
	nodes := g.Nodes()
	parallel := max(opts.Parallel, 1)
	inGraph := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		inGraph[n] = true
	}
	waiting := make(map[string]int, len(nodes)) // unfinished dependencies
	for _, n := range nodes {
		for _, d := range g.Dependencies(n) {
			if inGraph[d] {
				waiting[n]++
			}
		}
	}
	var layer map[string]int
	var layerLeft []int
	current := 0
	if opts.Layered {
		layer, layerLeft = layers(g, nodes)
	}

	outcomes := make(map[string]Outcome, len(nodes))
	q := &queue{prio: opts.Priority}
	held := []string{} // ready but waiting for their layer (Layered only)
	for _, n := range nodes {
		if waiting[n] == 0 {
			q.add(n)
		}
	}
	setOutcome := func(n string, o Outcome) {
		outcomes[n] = o
		if opts.Layered {
			layerLeft[layer[n]]--
		}
		// A node whose task ran and was cancelled has recorded that itself.
		if o.Status == Skipped || (o.Status == Cancelled && o.Err == nil) {
			if opts.OnSkip != nil {
				opts.OnSkip(n, o.Reason)
			}
		}
	}
	skipDescendants := func(from string, status Status, reason string) {
		stack := []string{from}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, d := range g.Dependents(n) {
				if !inGraph[d] {
					continue
				}
				if _, done := outcomes[d]; done {
					continue
				}
				setOutcome(d, Outcome{Status: status, Reason: reason})
				stack = append(stack, d)
			}
		}
	}

	results := make(chan result)
	running := 0
	stopReason := ""
	for {
		if ctx.Err() != nil && stopReason == "" {
			stopReason = "operation cancelled"
		}
		if opts.Layered {
			for current < len(layerLeft) && layerLeft[current] == 0 {
				current++
			}
			var still []string
			for _, n := range held {
				if layer[n] == current {
					q.add(n)
				} else {
					still = append(still, n)
				}
			}
			held = still
		}
		for stopReason == "" && running < parallel && q.Len() > 0 {
			n := heap.Pop(q).(string)
			if _, done := outcomes[n]; done {
				continue
			}
			if opts.Layered && layer[n] != current {
				held = append(held, n)
				continue
			}
			running++
			if opts.OnStart != nil {
				opts.OnStart(n)
			}
			go func() { results <- result{n, task(ctx, n)} }()
		}
		if running == 0 {
			break
		}
		r := <-results
		running--
		switch {
		case r.err == nil:
			setOutcome(r.node, Outcome{Status: Succeeded})
			for _, d := range g.Dependents(r.node) {
				if !inGraph[d] {
					continue
				}
				waiting[d]--
				if waiting[d] == 0 {
					if _, done := outcomes[d]; !done {
						q.add(d)
					}
				}
			}
		case ctx.Err() != nil && errors.Is(r.err, context.Canceled):
			setOutcome(r.node, Outcome{Status: Cancelled, Reason: "operation cancelled", Err: r.err})
			skipDescendants(r.node, Cancelled, "operation cancelled")
		default:
			setOutcome(r.node, Outcome{Status: Failed, Err: r.err})
			skipDescendants(r.node, Skipped, fmt.Sprintf("dependency %s failed", r.node))
			if opts.FailFast && stopReason == "" {
				stopReason = fmt.Sprintf("not started: --fail-fast after %s failed", r.node)
			}
		}
	}
	// Whatever is left never started: the run was stopped.
	for _, n := range nodes {
		if _, done := outcomes[n]; done {
			continue
		}
		status := Skipped
		if ctx.Err() != nil {
			status = Cancelled
		}
		reason := stopReason
		if reason == "" {
			reason = "not started"
		}
		setOutcome(n, Outcome{Status: status, Reason: reason})
	}
	return outcomes
}

// layers returns each node's layer (longest path from a root) and how many
// nodes each layer has.
func layers(g Graph, nodes []string) (map[string]int, []int) {
	layer := make(map[string]int, len(nodes))
	var visit func(string) int
	visit = func(n string) int {
		if l, ok := layer[n]; ok {
			return l
		}
		l := 0
		for _, d := range g.Dependencies(n) {
			l = max(l, visit(d)+1)
		}
		layer[n] = l
		return l
	}
	top := 0
	for _, n := range nodes {
		top = max(top, visit(n))
	}
	count := make([]int, top+1)
	for _, n := range nodes {
		count[layer[n]]++
	}
	return layer, count
}

// queue is a max-heap of ready nodes by priority, ties by name.
type queue struct {
	items []string
	prio  func(string) float64
}

func (q *queue) add(n string)       { heap.Push(q, n) }
func (q *queue) Len() int           { return len(q.items) }
func (q *queue) Swap(i, j int)      { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *queue) Push(x any)         { q.items = append(q.items, x.(string)) }
func (q *queue) Less(i, j int) bool { return q.before(q.items[i], q.items[j]) }
func (q *queue) Pop() any {
	n := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return n
}

func (q *queue) before(a, b string) bool {
	if q.prio != nil {
		pa, pb := q.prio(a), q.prio(b)
		if pa != pb {
			return pa > pb
		}
	}
	return a < b
}
