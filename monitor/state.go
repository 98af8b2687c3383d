// Package monitor follows a deployment's operations as they run: a pure
// state model fed by events (State.Apply), and the sources of those events
// — a `cloud serve` server over graphql-transport-ws, or the local store —
// which both yield the GraphQL Event type.
package monitor

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/vocab"
)

// Event is one event of an operation, as both sources deliver it.
type Event = model.Event

// ResourceOp is a resource operation in flight.
type ResourceOp struct {
	Stack string
	URN   string
	Name  string
	Type  string
	Op    string
	Since time.Time
}

// Stack is the live state of one stack of the operation.
type Stack struct {
	Name     string
	Layer    int
	Status   vocab.StackStatus
	Reason   string
	Error    string
	Started  time.Time
	Finished time.Time
	// Resource progress: resource operations done so far, by kind.
	Created, Updated, Deleted, Replaced, Same, FailedOps int
	inFlight                                             map[string]*ResourceOp
	seen                                                 map[string]bool
}

// Elapsed is how long the stack has run (so far).
func (s *Stack) Elapsed(now time.Time) time.Duration {
	switch {
	case s.Started.IsZero():
		return 0
	case !s.Finished.IsZero():
		return s.Finished.Sub(s.Started)
	default:
		return now.Sub(s.Started)
	}
}

// InFlight lists the stack's resource operations in flight, oldest first.
func (s *Stack) InFlight() []ResourceOp {
	var ops []ResourceOp
	for _, o := range s.inFlight {
		ops = append(ops, *o)
	}
	sort.Slice(ops, func(i, j int) bool {
		if !ops[i].Since.Equal(ops[j].Since) {
			return ops[i].Since.Before(ops[j].Since)
		}
		return ops[i].URN < ops[j].URN
	})
	return ops
}

// LogLine is one line of the log pane: a Pulumi diagnostic, a log line of
// the runner or the program, or a stack's error.
type LogLine struct {
	Time  time.Time
	Stack string
	Level string // debug, info, warning, error
	Text  string
}

// Counts summarise the stacks' states.
type Counts struct {
	Total, Pending, Running, Succeeded, Failed, Skipped int
}

// Done is how many stacks have finished.
func (c Counts) Done() int { return c.Succeeded + c.Failed + c.Skipped }

// State is the picture of one operation built from its events. It is not
// safe for concurrent use.
type State struct {
	OperationID  string
	DeploymentID string
	Environment  string
	Kind         vocab.Kind
	Status       vocab.OperationStatus
	Started      time.Time
	Finished     time.Time
	// LastSeq and LastGlobalSeq are the positions of the last event
	// applied: where a source resumes.
	LastSeq       int
	LastGlobalSeq int
	Stacks        map[string]*Stack
	Logs          []LogLine
	// MaxLogs bounds Logs (default 5000); older lines are dropped.
	MaxLogs int
	// History is how long each stack took in earlier runs, for ETA.
	History map[string]time.Duration
}

// New returns an empty State.
func New() *State {
	return &State{Stacks: map[string]*Stack{}, History: map[string]time.Duration{}, MaxLogs: 5000}
}

func (s *State) reset(ev *Event) {
	s.OperationID, s.DeploymentID, s.Environment = ev.OperationID, ev.DeploymentID, ev.Environment
	s.Kind, s.Status, s.Started, s.Finished = "", "", time.Time{}, time.Time{}
	s.LastSeq = 0
	s.Stacks = map[string]*Stack{}
	s.Logs = nil
}

// stack returns the named stack, adding it if the plan did not list it.
func (s *State) stack(name string) *Stack {
	st := s.Stacks[name]
	if st == nil {
		st = &Stack{Name: name, Status: vocab.StackPending, inFlight: map[string]*ResourceOp{}, seen: map[string]bool{}}
		s.Stacks[name] = st
	}
	return st
}

// Decode decodes an event's payload (raw JSON from the local store, or
// decoded JSON from a server) into v.
func Decode(ev *Event, v any) error {
	var raw []byte
	switch p := ev.Payload.(type) {
	case nil:
		return nil
	case json.RawMessage:
		raw = p
	case []byte:
		raw = p
	case string:
		raw = []byte(p)
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		raw = b
	}
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}

// engineEvent is the part of a Pulumi engine event (stacks/protocol.Event)
// the monitor uses.
type engineEvent struct {
	Type     string   `json:"type"`
	URN      string   `json:"urn"`
	Resource string   `json:"resource"`
	Name     string   `json:"name"`
	Op       string   `json:"op"`
	Diffs    []string `json:"diffs"`
	Severity string   `json:"severity"`
	Message  string   `json:"message"`
}

// isProvider reports whether a resource type is a Pulumi provider:
// plumbing that Pulumi's summary neither counts nor shows, so neither does
// the monitor.
func isProvider(typ string) bool { return strings.HasPrefix(typ, "pulumi:providers:") }

// Apply applies one event. An event of another operation than the current
// one starts a new picture (a deployment stream moves on to the next
// operation); an event already applied is ignored.
func (s *State) Apply(ev *Event) {
	if ev == nil {
		return
	}
	if ev.OperationID != s.OperationID {
		s.reset(ev)
	} else if ev.Seq <= s.LastSeq {
		return
	}
	s.LastSeq = ev.Seq
	s.LastGlobalSeq = max(s.LastGlobalSeq, ev.GlobalSeq)
	if s.Started.IsZero() {
		s.Started = ev.Time
	}
	switch vocab.EventType(ev.Kind) {
	case vocab.EventOperation:
		var p struct {
			Kind   vocab.Kind
			Status vocab.OperationStatus
			Error  string
		}
		_ = Decode(ev, &p)
		if p.Kind != "" {
			s.Kind = p.Kind
		}
		s.Status = p.Status
		if p.Status.Terminal() {
			s.Finished = ev.Time
			for _, st := range s.Stacks {
				clear(st.inFlight)
			}
		}
		if p.Error != "" {
			s.log(ev.Time, "", "error", p.Error)
		}
	case vocab.EventPlan:
		var p struct {
			Kind   vocab.Kind
			Stacks []string
			Layers map[string]int
		}
		_ = Decode(ev, &p)
		if p.Kind != "" {
			s.Kind = p.Kind
		}
		for _, n := range p.Stacks {
			s.stack(n)
		}
		for n, l := range p.Layers {
			s.stack(n).Layer = l
		}
	case vocab.EventStack:
		if ev.Stack == "" {
			return
		}
		var p struct {
			Status        vocab.StackStatus
			Reason, Error string
			Changes       map[string]int
		}
		_ = Decode(ev, &p)
		st := s.stack(ev.Stack)
		st.Status, st.Reason = p.Status, p.Reason
		switch {
		case p.Status.Running():
			st.Started, st.Finished = ev.Time, time.Time{}
		case p.Status.Finished():
			st.Finished = ev.Time
			clear(st.inFlight)
			if len(p.Changes) > 0 {
				// Pulumi's own summary, which the report prints: the
				// counts so far become exactly those.
				st.Created, st.Updated, st.Replaced = p.Changes["create"], p.Changes["update"], p.Changes["replace"]
				st.Deleted, st.Same = p.Changes["delete"], p.Changes["same"]
			}
		}
		switch {
		case p.Error != "":
			st.Error = p.Error
			s.log(ev.Time, ev.Stack, "error", string(p.Status)+": "+p.Error)
		case p.Status != vocab.StackPending:
			// The log pane tells the run's story, not only its
			// diagnostics: every stack's steps are in it.
			text := string(p.Status)
			if p.Reason != "" {
				text += " (" + p.Reason + ")"
			}
			if p.Status.Finished() && !st.Started.IsZero() {
				text += " in " + human.Duration(st.Elapsed(ev.Time))
			}
			s.log(ev.Time, ev.Stack, "info", text)
		}
	case vocab.EventEngine:
		var e engineEvent
		if Decode(ev, &e) != nil {
			return
		}
		s.engine(ev, e)
	case vocab.EventLog:
		var p struct{ Level, Text string }
		_ = Decode(ev, &p)
		if p.Text != "" {
			s.log(ev.Time, ev.Stack, p.Level, p.Text)
		}
	}
}

func (s *State) engine(ev *Event, e engineEvent) {
	if e.Type == "diagnostic" {
		if msg := strings.TrimSpace(e.Message); msg != "" {
			s.log(ev.Time, ev.Stack, e.Severity, msg)
		}
		return
	}
	if ev.Stack == "" || isProvider(e.Resource) {
		return
	}
	st := s.stack(ev.Stack)
	switch e.Type {
	case "resource.pre":
		// The Pulumi stack resource is "in flight" the whole run: it is
		// counted when done (as Pulumi's summary and the report count it),
		// never listed.
		if e.Op != "same" && e.Op != "read" && e.Resource != "pulumi:pulumi:Stack" {
			st.inFlight[e.URN] = &ResourceOp{Stack: ev.Stack, URN: e.URN, Name: e.Name, Type: e.Resource, Op: e.Op, Since: ev.Time}
		}
	case "resource.done", "resource.failed":
		delete(st.inFlight, e.URN)
		if e.Type == "resource.failed" {
			st.FailedOps++
			s.log(ev.Time, ev.Stack, "error", fmt.Sprintf("%s %s failed (%s)", e.Op, e.Name, e.Resource))
			return
		}
		if e.Op != "same" && e.Op != "read" && !st.seen[e.URN] {
			s.log(ev.Time, ev.Stack, "info", fmt.Sprintf("%s %s (%s)%s", e.Op, e.Name, e.Resource, human.Diff(e.Diffs)))
		}
		// Components report their outputs twice: count each once.
		if st.seen[e.URN] {
			return
		}
		st.seen[e.URN] = true
		switch {
		case strings.Contains(e.Op, "replace"):
			st.Replaced++
		case strings.HasPrefix(e.Op, "create"):
			st.Created++
		case strings.HasPrefix(e.Op, "update"):
			st.Updated++
		case strings.HasPrefix(e.Op, "delete") || strings.HasPrefix(e.Op, "discard"):
			st.Deleted++
		default:
			st.Same++
		}
	}
}

func (s *State) log(t time.Time, stack, level, text string) {
	if level == "" {
		level = "info"
	}
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		s.Logs = append(s.Logs, LogLine{Time: t, Stack: stack, Level: level, Text: line})
	}
	if max := s.MaxLogs; max > 0 && len(s.Logs) > max {
		s.Logs = append([]LogLine(nil), s.Logs[len(s.Logs)-max:]...)
	}
}

// Ended reports whether the operation has ended.
func (s *State) Ended() bool { return s.Status.Terminal() }

// Succeeded reports whether the operation ended successfully.
func (s *State) Succeeded() bool { return s.Status == vocab.OpSucceeded }

// Order lists the stacks by layer in the order they run (a destroy's
// from the last layer), then by name.
func (s *State) Order() []string {
	names := make([]string, 0, len(s.Stacks))
	for n := range s.Stacks {
		names = append(names, n)
	}
	down := s.Kind == vocab.KindDestroy
	sort.Slice(names, func(i, j int) bool {
		a, b := s.Stacks[names[i]], s.Stacks[names[j]]
		if a.Layer != b.Layer {
			return (a.Layer < b.Layer) != down
		}
		return a.Name < b.Name
	})
	return names
}

// Layers groups the stacks by layer, in the order they run (Order).
func (s *State) Layers() [][]string {
	var out [][]string
	last := -1
	for _, n := range s.Order() {
		if l := s.Stacks[n].Layer; len(out) == 0 || l != last {
			out, last = append(out, nil), l
		}
		out[len(out)-1] = append(out[len(out)-1], n)
	}
	return out
}

// Counts counts the stacks by state.
func (s *State) Counts() Counts {
	c := Counts{Total: len(s.Stacks)}
	for _, st := range s.Stacks {
		switch {
		case st.Status.Running():
			c.Running++
		case st.Status == vocab.StackSkipped || st.Status == vocab.StackCancelled:
			c.Skipped++
		case st.Status.Bad():
			c.Failed++
		case st.Status.Finished():
			c.Succeeded++
		default:
			c.Pending++
		}
	}
	return c
}

// InFlight lists the resource operations in flight over all stacks.
func (s *State) InFlight() []ResourceOp {
	var ops []ResourceOp
	for _, n := range s.Order() {
		ops = append(ops, s.Stacks[n].InFlight()...)
	}
	return ops
}

// Elapsed is how long the operation has run (so far).
func (s *State) Elapsed(now time.Time) time.Duration {
	switch {
	case s.Started.IsZero():
		return 0
	case !s.Finished.IsZero():
		return s.Finished.Sub(s.Started)
	default:
		return now.Sub(s.Started)
	}
}

// AddHistory records how long stack took in an earlier run; several runs
// are averaged.
func (s *State) AddHistory(stack string, d time.Duration, runs int) {
	if runs <= 1 || s.History[stack] == 0 {
		s.History[stack] = d
		return
	}
	s.History[stack] = (s.History[stack]*time.Duration(runs-1) + d) / time.Duration(runs)
}

// ETA estimates the time left from History: layers run one after the
// other, the stacks of a layer together, so it is the sum over the layers
// not done of their slowest stack's time left. ok is false when no stack
// left has a history (or the operation has ended).
func (s *State) ETA(now time.Time) (left time.Duration, ok bool) {
	if s.Ended() {
		return 0, false
	}
	known := false
	for _, layer := range s.Layers() {
		var slowest time.Duration
		for _, n := range layer {
			st := s.Stacks[n]
			if st.Status.Finished() {
				continue
			}
			h, has := s.History[n]
			if !has {
				continue
			}
			known = true
			rest := h
			if st.Status.Running() {
				rest = max(0, h-now.Sub(st.Started))
			}
			slowest = max(slowest, rest)
		}
		left += slowest
	}
	return left, known
}
