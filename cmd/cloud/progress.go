package main

// Live progress of an operation, from its events folded by monitor.State: redrawn on a terminal, plain lines otherwise.

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/monitor"
	"github.com/cloudplatform/cloud/vocab"
)

// progress shows an operation as it runs, from its events folded by
// monitor.State, the reducer `cloud monitor` uses, so a deploy prints the
// same here, with --server and in the monitor: on a terminal, a block of
// lines (one per stack: state, elapsed time, resource changes, what it is
// doing) redrawn in place; not on a terminal, the monitor's plain line for
// each step of the operation and each stack transition, warning and error.
type progress struct {
	e *env
	// hint is what Ctrl-C does, for the line that introduces an operation.
	hint  string
	mu    sync.Mutex
	st    *monitor.State
	drawn int
	begin time.Time
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

// order is the stacks of operation id in the order its plan runs them;
// nil when p (which may be nil) did not follow that operation.
func (p *progress) order(id string) []string {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st.OperationID != id {
		return nil
	}
	return p.st.Order()
}

func newProgress(e *env, hint string) *progress {
	return &progress{e: e, hint: hint, st: monitor.New(), done: make(chan struct{}), begin: time.Now()}
}

func (p *progress) live() bool { return p.e.io.TTY && !p.e.quiet }

// observe takes each stored event of an operation run in this process, as
// the server would send it.
func (p *progress) observe(ev app.Event) { p.apply(model.EventFrom(ev)) }

// apply takes the operation's next event.
func (p *progress) apply(ev *monitor.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.OperationID != p.st.OperationID {
		// One command may run several operations (a rollback destroys,
		// then deploys): each gets a block of its own.
		p.drawn = 0
	}
	p.st.Apply(ev)
	if vocab.EventType(ev.Kind) == vocab.EventPlan {
		st := p.st
		p.e.status("%s %s of %s in %s: %d stacks %s (%s)", strings.ToUpper(string(st.Kind[:1]))+string(st.Kind[1:]), st.OperationID,
			st.DeploymentID, st.Environment, len(st.Stacks), st.LayerList(), p.hint)
		if p.live() {
			p.once.Do(func() {
				p.wg.Add(1)
				go p.loop()
			})
		}
	}
	if p.live() {
		return
	}
	if p.e.quiet || !worthALine(ev) {
		return
	}
	if line := monitor.PlainLine(p.st, ev); line != "" {
		fmt.Fprintln(p.e.io.Err, line)
	}
}

// worthALine reports whether a plain progress line shows ev: the steps of
// the operation and of its stacks, and what went wrong, but not each
// resource (that is what `cloud monitor --plain` and `cloud logs` are
// for), and not the operation's plan or status (the line that introduces
// it and the report say those).
func worthALine(ev *monitor.Event) bool {
	switch vocab.EventType(ev.Kind) {
	case vocab.EventStack:
		var s struct{ Status vocab.StackStatus }
		_ = monitor.Decode(ev, &s)
		return s.Status != vocab.StackPending
	case vocab.EventEngine, vocab.EventLog:
		var d struct{ Severity, Level string }
		_ = monitor.Decode(ev, &d)
		l := d.Severity + d.Level
		return l == "warning" || l == "error"
	}
	return false
}

func (p *progress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(150 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			p.draw()
			return
		case <-t.C:
			p.draw()
		}
	}
}

func (p *progress) stop() {
	close(p.done)
	p.wg.Wait()
}

// draw redraws the block of stack lines in place.
func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", p.drawn)
	}
	spin := `⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏`
	now := time.Now()
	frame := []rune(spin)[int(now.Sub(p.begin)/(100*time.Millisecond))%10]
	order := p.st.Order()
	for _, n := range order {
		s := p.st.Stacks[n]
		icon := "·"
		switch {
		case s.Status.Running():
			icon = string(frame)
		case s.Status.Bad():
			icon = "✗"
		case s.Status == vocab.StackSkipped || s.Status == vocab.StackCancelled:
			icon = "-"
		case s.Status.Finished():
			icon = "✓"
		}
		elapsed := ""
		if !s.Started.IsZero() {
			elapsed = human.Duration(s.Elapsed(now))
		}
		detail := s.Reason
		if s.Status.Running() || detail == "" {
			detail = ""
			if ops := s.InFlight(); len(ops) > 0 {
				detail = ops[0].Op + " " + ops[0].Name
			}
		}
		fmt.Fprintf(&b, " %s L%d %-16s %s %7s  %-12s %s\n", p.e.paint(statusColor(s.Status), icon), s.Layer, n,
			p.e.paint(statusColor(s.Status), fmt.Sprintf("%-12s", s.Status)), elapsed, s.Progress(), truncate(detail, 50))
	}
	fmt.Fprintf(&b, " %d/%d stacks done, %s elapsed\n", p.st.Counts().Done(), len(order), human.Duration(p.st.Elapsed(now)))
	p.drawn = len(order) + 1
	io.WriteString(p.e.io.Err, b.String())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// printReport prints an operation once it ended: with -o json or yaml its
// document, else every stack's result, then the errors in full, then one
// line with the totals, on stderr (stdout with --quiet), and why the
// operation failed when it ended before its stacks could say (e.g. an
// invalid config).
//
// order, when the run was followed, is its plan's order (layer by layer,
// as status lists the stacks): the rows follow it rather than the
// document's start-time order, in which a skipped stack comes last.
func (e *env) printReport(op *model.Operation, order []string) error {
	if e.output != "table" {
		return e.emit(op, nil)
	}
	stacks := op.Stacks
	if len(order) > 0 {
		rank := make(map[string]int, len(order))
		for i, n := range order {
			rank[n] = i + 1
		}
		last := len(order) + 1
		at := func(n string) int {
			if r := rank[n]; r > 0 {
				return r
			}
			return last
		}
		stacks = slices.Clone(stacks)
		slices.SortStableFunc(stacks, func(a, b *model.OperationStack) int { return at(a.Stack) - at(b.Stack) })
	}
	w := e.io.Err
	if e.quiet {
		w = e.io.Out
	}
	byStatus := map[string]int{}
	fmt.Fprintln(w)
	tw := newTable(w)
	// A preview or a refresh changes no resources: how many a stack holds
	// is not theirs to say (status says it).
	counted := op.Kind != vocab.KindPreview && op.Kind != vocab.KindRefresh
	cols := func(cells ...any) []any {
		if !counted {
			cells = append(cells[:4:4], cells[5:]...)
		}
		return cells
	}
	row(tw, cols("STACK", "STATUS", "DURATION", "CHANGES", "RESOURCES", "NOTE")...)
	for _, s := range stacks {
		byStatus[string(s.Status)]++
		note := s.Reason
		if s.Error != "" {
			note = firstLine(s.Error)
		}
		d := time.Duration(0)
		if s.StartedAt != nil && s.FinishedAt != nil {
			d = s.FinishedAt.Sub(*s.StartedAt)
		}
		row(tw, cols(s.Stack, e.cell(statusColor(string(s.Status)), string(s.Status)), human.Duration(d), human.Changes(counts(s.Changes)), s.ResourceCount, note)...)
	}
	tw.Flush()
	for _, s := range op.Stacks {
		if s.Error != "" && strings.Contains(s.Error, "\n") {
			fmt.Fprintf(w, "\n%s failed:\n  %s\n", s.Stack, strings.ReplaceAll(s.Error, "\n", "\n  "))
		}
	}
	var parts []string
	for _, st := range vocab.StackResults {
		if k := string(st); byStatus[k] > 0 {
			// In words: "6 in sync", not the value in_sync.
			parts = append(parts, fmt.Sprintf("%d %s", byStatus[k], strings.ReplaceAll(k, "_", " ")))
		}
	}
	elapsed := time.Duration(0)
	if op.FinishedAt != nil {
		elapsed = op.FinishedAt.Sub(op.StartedAt)
	}
	fmt.Fprintf(w, "\n%s %s %s in %s: %s\n", op.Kind, op.ID, e.paint(statusColor(string(op.Status)), string(op.Status)),
		human.Duration(elapsed), strings.Join(parts, ", "))
	if op.Error != "" && op.Error != string(op.Status) && op.Status != vocab.OpSucceeded && !stacksSay(op) {
		fmt.Fprintf(w, "%s\n", op.Error)
	}
	return nil
}

// stacksSay reports whether the stacks' table already says why the
// operation did not succeed ("failed: app" repeats it).
func stacksSay(op *model.Operation) bool {
	for _, s := range op.Stacks {
		if s.Error != "" || s.Status == vocab.StackFailed {
			return true
		}
	}
	return op.Status == vocab.OpCancelled
}
