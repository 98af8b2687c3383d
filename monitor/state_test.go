package monitor

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/vocab"
)

// load reads a recorded event sequence (one GraphQL Event a line, as a
// server sends them; payloads decode to maps). raw turns the payloads back
// into json.RawMessage, as the local source has them.
func load(t *testing.T, name string, raw bool) []*Event {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []*Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if raw && ev.Payload != nil {
			b, _ := json.Marshal(ev.Payload)
			ev.Payload = json.RawMessage(b)
		}
		evs = append(evs, &ev)
	}
	return evs
}

func applyAll(evs []*Event) *State {
	st := New()
	for _, ev := range evs {
		st.Apply(ev)
	}
	return st
}

func TestSucceededRun(t *testing.T) {
	for _, raw := range []bool{false, true} {
		evs := load(t, "deploy-ok.jsonl", raw)
		st := applyAll(evs)
		if !st.Ended() || !st.Succeeded() || st.Kind != "deploy" || st.DeploymentID != "DMON001" || st.Environment != "dev" {
			t.Fatalf("raw=%v: state %+v", raw, st)
		}
		want := [][]string{{"network"}, {"security"}, {"database", "storage"}, {"app"}, {"monitoring"}}
		if got := st.Layers(); !equal(got, want) {
			t.Errorf("layers %v, want %v", got, want)
		}
		if c := st.Counts(); c != (Counts{Total: 6, Succeeded: 6}) || c.Done() != 6 {
			t.Errorf("counts %+v", c)
		}
		// Each with its Pulumi stack resource, as the report counts them.
		created := map[string]int{"network": 6, "security": 4, "database": 3, "storage": 2, "app": 3, "monitoring": 5}
		for n, c := range created {
			s := st.Stacks[n]
			if s.Status != vocab.StackDeployed || s.Created != c || s.Updated != 0 || s.Deleted != 0 {
				t.Errorf("%s: %s %s, want deployed +%d", n, s.Status, s.Progress(), c)
			}
			if e := s.Elapsed(time.Now()); e < time.Second || e > time.Minute {
				t.Errorf("%s elapsed %s", n, e)
			}
		}
		if len(st.InFlight()) != 0 {
			t.Errorf("in flight after the end: %v", st.InFlight())
		}
		if e := st.Elapsed(time.Now()); e != evs[len(evs)-1].Time.Sub(evs[0].Time) {
			t.Errorf("elapsed %s", e)
		}
		if st.LastSeq != len(evs) || st.LastGlobalSeq != evs[len(evs)-1].GlobalSeq {
			t.Errorf("positions %d/%d", st.LastSeq, st.LastGlobalSeq)
		}
		// Events again (a resumed stream overlapping): no change.
		for _, ev := range evs {
			st.Apply(ev)
		}
		if st.Stacks["network"].Created != 6 {
			t.Errorf("duplicates counted: %d", st.Stacks["network"].Created)
		}
	}
}

func TestRunInProgress(t *testing.T) {
	evs := load(t, "deploy-ok.jsonl", false)
	st := New()
	// Up to the first resource started in a stack (not the Pulumi stack).
	var at *Event
	for _, ev := range evs {
		st.Apply(ev)
		var e engineEvent
		_ = Decode(ev, &e)
		if e.Type == "resource.pre" && e.Resource != "pulumi:pulumi:Stack" {
			at = ev
			break
		}
	}
	if at == nil {
		t.Fatal("no resource.pre")
	}
	if st.Ended() || st.Status != "running" {
		t.Fatalf("status %q", st.Status)
	}
	c := st.Counts()
	if c.Running != 1 || c.Pending != 5 || c.Total != 6 {
		t.Errorf("counts %+v", c)
	}
	ops := st.InFlight()
	if len(ops) != 1 || ops[0].Stack != "network" || ops[0].Op != "create" || !strings.Contains(ops[0].Name, "vpc") {
		t.Errorf("in flight %+v", ops)
	}
	now := at.Time.Add(time.Second)
	if e := st.Stacks["network"].Elapsed(now); e <= 0 {
		t.Errorf("running elapsed %s", e)
	}
	if _, ok := st.ETA(now); ok {
		t.Error("ETA without history")
	}
	// Earlier runs: every stack 3s → network has ~2s left (running), then
	// 4 more layers of 3s.
	for _, n := range st.Order() {
		st.AddHistory(n, 3*time.Second, 1)
	}
	started := st.Stacks["network"].Started
	left, ok := st.ETA(started.Add(time.Second))
	if !ok || left != 14*time.Second {
		t.Errorf("ETA %s %v, want 14s", left, ok)
	}
	st.AddHistory("app", 5*time.Second, 2) // averaged: 4s
	if left, _ := st.ETA(started.Add(time.Second)); left != 15*time.Second {
		t.Errorf("ETA %s, want 15s", left)
	}
}

func TestFailedRun(t *testing.T) {
	st := applyAll(load(t, "deploy-failed.jsonl", true))
	if !st.Ended() || st.Succeeded() || st.Status != "failed" {
		t.Fatalf("status %q", st.Status)
	}
	want := map[string]vocab.StackStatus{"base": vocab.StackDeployed, "side": vocab.StackDeployed, "mid": vocab.StackFailed, "top": vocab.StackSkipped}
	for n, s := range want {
		if st.Stacks[n].Status != s {
			t.Errorf("%s: %s, want %s", n, st.Stacks[n].Status, s)
		}
	}
	if c := st.Counts(); c != (Counts{Total: 4, Succeeded: 2, Failed: 1, Skipped: 1}) {
		t.Errorf("counts %+v", c)
	}
	found := false
	for _, l := range st.Logs {
		if l.Stack == "mid" && l.Level == "error" && strings.Contains(l.Text, "probe failed as configured") {
			found = true
		}
	}
	if !found {
		t.Errorf("no error diagnostic in the logs: %+v", st.Logs)
	}
	if st.Stacks["mid"].Error == "" {
		t.Error("no stack error")
	}
}

func TestNextOperationResets(t *testing.T) {
	st := applyAll(load(t, "deploy-ok.jsonl", false))
	st.MaxLogs = 3
	next := load(t, "deploy-failed.jsonl", false)
	st.Apply(next[0])
	if st.OperationID != next[0].OperationID || len(st.Stacks) != 0 || st.LastSeq != 1 || st.Ended() {
		t.Fatalf("not reset: %s %d stacks seq %d", st.OperationID, len(st.Stacks), st.LastSeq)
	}
	for _, ev := range next[1:] {
		st.Apply(ev)
	}
	if len(st.Stacks) != 4 || len(st.Logs) != 3 {
		t.Errorf("%d stacks, %d logs", len(st.Stacks), len(st.Logs))
	}
}

func TestPlainLines(t *testing.T) {
	st := New()
	var out []string
	for _, ev := range load(t, "deploy-failed.jsonl", false) {
		st.Apply(ev)
		if l := PlainLine(st, ev); l != "" {
			out = append(out, l)
		}
	}
	text := strings.Join(out, "\n")
	for _, want := range []string{
		"plan deploy of DMONKO2/dev: 4 stacks L0[base] L1[mid side] L2[top]",
		"stack mid              failed in ",
		"stack top              skipped",
		"error mid              an unhandled error occurred",
		"deploy failed in ",
		"2/4 stacks ok, 1 failed, 1 skipped",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\n\n") {
		t.Error("empty line")
	}
}

func equal(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], ",") != strings.Join(b[i], ",") {
			return false
		}
	}
	return true
}

// TestPendingStackShowsNoProgress: a stack not started yet has no
// elapsed time and no resource progress to show (not "0ms +0 ~0 -0").
func TestPendingStackShowsNoProgress(t *testing.T) {
	evs := load(t, "deploy-ok.jsonl", false)
	st := New()
	for _, ev := range evs {
		st.Apply(ev)
		if vocab.EventType(ev.Kind) == vocab.EventPlan {
			break
		}
	}
	s := st.Stacks["monitoring"]
	if s == nil || s.Status != vocab.StackPending {
		t.Fatalf("monitoring after the plan: %+v", s)
	}
	if got := s.Progress(); got != "" {
		t.Errorf("pending progress %q, want none", got)
	}
	if got := human.Duration(s.Elapsed(time.Now())); got != "-" {
		t.Errorf("pending elapsed %q, want -", got)
	}
}

// TestLogTellsTheRun: the log pane holds every stack's steps and the
// resources changed, not only diagnostics, so a run without warnings
// still shows what happened (and a stack filter has lines to keep).
func TestLogTellsTheRun(t *testing.T) {
	st := New()
	for _, ev := range load(t, "deploy-ok.jsonl", false) {
		st.Apply(ev)
	}
	var deploying, deployed, created bool
	for _, l := range st.Logs {
		if l.Stack != "network" {
			continue
		}
		deploying = deploying || l.Text == "deploying"
		deployed = deployed || strings.HasPrefix(l.Text, "deployed in ")
		created = created || strings.HasPrefix(l.Text, "create ") && strings.Contains(l.Text, "vpc")
	}
	if !deploying || !deployed || !created {
		t.Errorf("network's log lines: deploying %v, deployed %v, a create %v:\n%+v", deploying, deployed, created, st.Logs)
	}
}

// TestDestroyLayers: a destroy lists its stacks from the last layer, each
// layer numbered as status numbers it (not by the order it runs in).
func TestDestroyLayers(t *testing.T) {
	st := New()
	st.Apply(&Event{OperationID: "op-1", Seq: 1, Kind: string(vocab.EventPlan), Payload: map[string]any{
		"kind": "destroy", "stacks": []string{"base", "mid", "side", "top"},
		"layers": map[string]int{"base": 0, "mid": 1, "side": 1, "top": 2}}})
	if got, want := st.LayerList(), "L2[top] L1[mid side] L0[base]"; got != want {
		t.Errorf("destroy LayerList = %q, want %q", got, want)
	}
	if got := st.Order(); !slices.Equal(got, []string{"top", "mid", "side", "base"}) {
		t.Errorf("destroy Order = %v", got)
	}
	// One stack of a deploy keeps its own layer's number.
	one := New()
	one.Apply(&Event{OperationID: "op-2", Seq: 1, Kind: string(vocab.EventPlan), Payload: map[string]any{
		"kind": "deploy", "stacks": []string{"top"}, "layers": map[string]int{"top": 2}}})
	if got, want := one.LayerList(), "L2[top]"; got != want {
		t.Errorf("deploy-stack LayerList = %q, want %q", got, want)
	}
}

// TestCountsMatchTheSummary: a provider's steps are not counted (Pulumi's
// summary leaves them out), and a finished stack shows the summary it
// reported, so the live line and the end-of-run report agree.
func TestCountsMatchTheSummary(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	seq := 0
	ev := func(kind string, payload map[string]any) *Event {
		seq++
		return &Event{OperationID: "op-1", Seq: seq, GlobalSeq: seq, DeploymentID: "D1", Environment: "dev",
			Stack: "site", Kind: kind, Time: at.Add(time.Duration(seq) * time.Second), Payload: payload}
	}
	step := func(typ, resource, name, op string) *Event {
		return ev("engine", map[string]any{"type": typ, "urn": "urn:" + name, "resource": resource, "name": name, "op": op})
	}
	st := New()
	for _, e := range []*Event{
		ev("stack.status", map[string]any{"status": "deploying"}),
		step("resource.pre", "pulumi:pulumi:Stack", "D1-site-dev", "create"),
		step("resource.pre", "pulumi:providers:localfile", "default", "create"),
		step("resource.done", "pulumi:providers:localfile", "default", "create"),
		step("resource.pre", "localfile:index:File", "index.html", "create"),
		step("resource.done", "localfile:index:File", "index.html", "create"),
	} {
		st.Apply(e)
	}
	s := st.Stacks["site"]
	if got := s.Progress(); got != "+1" {
		t.Errorf("mid-run progress %q, want +1 (the file, not its provider)", got)
	}
	if inFlight := st.InFlight(); len(inFlight) != 0 {
		t.Errorf("in flight: %+v, want nothing (the stack resource and the provider are not listed)", inFlight)
	}
	for _, l := range st.Logs {
		if strings.Contains(l.Text, "pulumi:providers:") {
			t.Errorf("log line about a provider: %q", l.Text)
		}
	}
	st.Apply(step("resource.done", "pulumi:pulumi:Stack", "D1-site-dev", "create"))
	st.Apply(ev("stack.status", map[string]any{"status": "deployed", "changes": map[string]any{"create": 2.0, "same": 1.0}}))
	if got := s.Progress(); got != "+2 =1" {
		t.Errorf("finished progress %q, want the reported summary +2 =1", got)
	}
}
