package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// progress shows an operation as it runs: on a terminal, a block of lines
// (one per stack: state, elapsed time, resources done) redrawn in place; not
// on a terminal, one plain line per stack transition and per error.
type progress struct {
	e     *env
	kind  string
	mu    sync.Mutex
	op    *store.Operation
	order []string
	rows  map[string]*stackRow
	drawn int
	begin time.Time
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

type stackRow struct {
	layer     int
	status    vocab.StackStatus
	reason    string
	started   time.Time
	finished  time.Time
	resources int
	seen      map[string]bool
	current   string
}

func newProgress(e *env, kind string) *progress {
	return &progress{e: e, kind: kind, rows: map[string]*stackRow{}, done: make(chan struct{}), begin: time.Now()}
}

func (p *progress) live() bool { return p.e.io.TTY && !p.e.quiet }

func (p *progress) start(op *store.Operation, layers map[string]int) {
	p.mu.Lock()
	// One command may run several operations (a rollback destroys, then
	// deploys): each gets a block of its own.
	p.op, p.rows, p.order, p.drawn = op, map[string]*stackRow{}, nil, 0
	for n, l := range layers {
		p.rows[n] = &stackRow{layer: l, status: vocab.StackPending, seen: map[string]bool{}}
		p.order = append(p.order, n)
	}
	sort.Slice(p.order, func(i, j int) bool {
		a, b := p.rows[p.order[i]], p.rows[p.order[j]]
		if a.layer != b.layer {
			return a.layer < b.layer
		}
		return p.order[i] < p.order[j]
	})
	p.mu.Unlock()
	p.e.status("%s %s of %s in %s: %d stacks (%s)", strings.ToUpper(p.kind[:1])+p.kind[1:], op.ID, op.DeploymentID,
		op.Environment, len(layers), "Ctrl-C cancels")
	if p.live() {
		p.once.Do(func() {
			p.wg.Add(1)
			go p.loop()
		})
	}
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

// observe is called for every stored event of the operation.
func (p *progress) observe(ev store.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	row := p.rows[ev.Stack]
	switch ev.Kind {
	case vocab.EventStack:
		var s struct {
			Status        vocab.StackStatus
			Reason, Error string
		}
		_ = json.Unmarshal(ev.Payload, &s)
		if row == nil {
			return
		}
		row.status, row.reason = s.Status, s.Reason
		switch s.Status {
		case vocab.StackDeploying, vocab.StackDestroying, vocab.StackRefreshing:
			row.started = ev.Time
		case vocab.StackPending:
		default:
			row.finished = ev.Time
			row.current = ""
		}
		if !p.live() && s.Status != vocab.StackPending && !p.e.quiet {
			line := fmt.Sprintf("%s  %-14s %s", ev.Time.Local().Format("15:04:05"), ev.Stack, s.Status)
			if s.Reason != "" {
				line += " (" + s.Reason + ")"
			}
			if !row.started.IsZero() && !row.finished.IsZero() {
				line += " in " + duration(row.finished.Sub(row.started))
			}
			if s.Error != "" {
				line += ": " + firstLine(s.Error)
			}
			fmt.Fprintln(p.e.io.Err, line)
		}
	case vocab.EventEngine:
		var e protocol.Event
		if json.Unmarshal(ev.Payload, &e) != nil || row == nil {
			return
		}
		switch e.Type {
		case protocol.EventResourcePre:
			if e.Resource != "pulumi:pulumi:Stack" && e.Op != "same" {
				row.current = e.Op + " " + e.Name
			}
		case protocol.EventResourceDone:
			// Components report their outputs twice; count each once.
			if e.Resource != "pulumi:pulumi:Stack" && !row.seen[e.URN] {
				row.seen[e.URN] = true
				row.resources++
			}
		case protocol.EventDiagnostic:
			if e.Severity == "error" && !p.live() && !p.e.quiet {
				fmt.Fprintf(p.e.io.Err, "%s  %-14s error: %s\n", ev.Time.Local().Format("15:04:05"), ev.Stack, firstLine(e.Message))
			}
		}
	}
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
	frame := []rune(spin)[int(time.Since(p.begin)/(100*time.Millisecond))%10]
	done := 0
	for _, n := range p.order {
		r := p.rows[n]
		icon := "·"
		switch r.status {
		case vocab.StackDeploying, vocab.StackDestroying, vocab.StackRefreshing:
			icon = string(frame)
		case vocab.StackDeployed, vocab.StackUnchanged, vocab.StackPreviewed, vocab.StackDestroyed, vocab.StackInSync:
			icon, done = "✓", done+1
		case vocab.StackFailed, vocab.StackDrifted, vocab.StackInterrupted:
			icon, done = "✗", done+1
		case vocab.StackSkipped, vocab.StackCancelled:
			icon, done = "-", done+1
		}
		elapsed := ""
		switch {
		case !r.started.IsZero() && !r.finished.IsZero():
			elapsed = duration(r.finished.Sub(r.started))
		case !r.started.IsZero():
			elapsed = duration(time.Since(r.started))
		}
		detail := r.current
		if r.reason != "" && r.status != vocab.StackDeploying {
			detail = r.reason
		}
		fmt.Fprintf(&b, " %s L%d %-16s %s %7s  %3d res  %s\n", p.e.paint(statusColor(r.status), icon), r.layer, n,
			p.e.paint(statusColor(r.status), fmt.Sprintf("%-12s", r.status)), elapsed, r.resources, truncate(detail, 50))
	}
	fmt.Fprintf(&b, " %d/%d stacks done, %s elapsed\n", done, len(p.order), duration(time.Since(p.begin)))
	p.drawn = len(p.order) + 1
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
func (e *env) printReport(op *model.Operation) error {
	if e.output != "table" {
		return e.emit(op, nil)
	}
	w := e.io.Err
	if e.quiet {
		w = e.io.Out
	}
	byStatus := map[string]int{}
	fmt.Fprintln(w)
	tw := newTable(w)
	row(tw, "STACK", "STATUS", "DURATION", "CHANGES", "RESOURCES", "NOTE")
	for _, s := range op.Stacks {
		byStatus[string(s.Status)]++
		note := s.Reason
		if s.Error != "" {
			note = firstLine(s.Error)
		}
		d := time.Duration(0)
		if s.StartedAt != nil && s.FinishedAt != nil {
			d = s.FinishedAt.Sub(*s.StartedAt)
		}
		row(tw, s.Stack, e.cell(statusColor(string(s.Status)), string(s.Status)), duration(d), changes(counts(s.Changes)), s.ResourceCount, note)
	}
	tw.Flush()
	for _, s := range op.Stacks {
		if s.Error != "" && strings.Contains(s.Error, "\n") {
			fmt.Fprintf(w, "\n%s failed:\n  %s\n", s.Stack, strings.ReplaceAll(s.Error, "\n", "\n  "))
		}
	}
	var parts []string
	for _, k := range []string{"deployed", "unchanged", "previewed", "destroyed", "in_sync", "drifted", "failed", "skipped", "cancelled", "interrupted"} {
		if byStatus[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", byStatus[k], k))
		}
	}
	elapsed := time.Duration(0)
	if op.FinishedAt != nil {
		elapsed = op.FinishedAt.Sub(op.StartedAt)
	}
	fmt.Fprintf(w, "\n%s %s %s in %s: %s\n", op.Kind, op.ID, e.paint(statusColor(string(op.Status)), string(op.Status)),
		duration(elapsed), strings.Join(parts, ", "))
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
