package monitor

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/cloudplatform/cloud/vocab"
)

func key(m tea.Model, k string) (tea.Model, tea.Cmd) {
	var msg tea.KeyMsg
	switch k {
	case "up", "down", "enter", "esc":
		msg = tea.KeyMsg{Type: map[string]tea.KeyType{"up": tea.KeyUp, "down": tea.KeyDown, "enter": tea.KeyEnter, "esc": tea.KeyEsc}[k]}
	default:
		msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
	}
	return m.Update(msg)
}

func TestModelView(t *testing.T) {
	evs := load(t, "deploy-failed.jsonl", false)
	m := NewModel(New(), "DMONKO2/dev")
	m.Now = func() time.Time { return evs[len(evs)-1].Time }
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	// Half of the events: a stack is deploying.
	m.Update(EventsMsg(evs[:12]))
	v := m.View()
	for _, want := range []string{"DMONKO2/dev", "running", "layer 0", "base", "mid", "side", "top", "pending", "log (all"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	m.Update(EventsMsg(evs[12:]))
	v = m.View()
	for n, s := range map[string]string{"base": "deployed", "side": "deployed", "mid": "failed", "top": "skipped"} {
		if !strings.Contains(v, n) || !strings.Contains(v, s) {
			t.Errorf("view lacks %s %s:\n%s", n, s, v)
		}
	}
	if !strings.Contains(v, "2/4 stacks done") && !strings.Contains(v, "4/4 stacks done") {
		t.Errorf("no progress:\n%s", v)
	}
	if !strings.Contains(v, "probe failed as configured") {
		t.Errorf("no diagnostic in the log pane:\n%s", v)
	}

	// j/k/arrows select (order: base, mid, side, top).
	if m.SelectedStack() != "base" {
		t.Fatalf("selected %s", m.SelectedStack())
	}
	key(m, "j")
	key(m, "down")
	if m.SelectedStack() != "side" {
		t.Errorf("after j, down: %s", m.SelectedStack())
	}
	key(m, "k")
	if m.SelectedStack() != "mid" {
		t.Errorf("after k: %s", m.SelectedStack())
	}
	key(m, "up")
	key(m, "up")
	if m.SelectedStack() != "base" {
		t.Errorf("after up up: %s", m.SelectedStack())
	}
	for range 10 {
		key(m, "j")
	}
	if m.SelectedStack() != "top" {
		t.Errorf("past the end: %s", m.SelectedStack())
	}

	// enter: details with outputs, secrets masked.
	key(m, "k")
	key(m, "k") // mid
	m.Outputs = func(stack string) ([]Output, error) {
		return []Output{{Name: "url", Value: "https://" + stack}, {Name: "password", Value: "hunter2", Secret: true}}, nil
	}
	_, cmd := key(m, "enter")
	if !m.Details || cmd == nil {
		t.Fatal("enter: no details")
	}
	m.Update(cmd())
	v = m.View()
	for _, want := range []string{"stack mid", "error", "https://mid", "password", "[secret]"} {
		if !strings.Contains(v, want) {
			t.Errorf("details lack %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "hunter2") {
		t.Error("secret shown")
	}
	key(m, "enter")
	if m.Details || strings.Contains(m.View(), "[secret]") {
		t.Error("enter again: details still shown")
	}

	// f cycles the log filter; l toggles the log pane.
	key(m, "f")
	if m.FilterName() != "stack mid" {
		t.Errorf("filter %q", m.FilterName())
	}
	for _, l := range m.LogLines() {
		if l.Stack != "mid" {
			t.Errorf("filtered line of %s", l.Stack)
		}
	}
	key(m, "f")
	key(m, "f")
	if m.FilterName() != "errors" {
		t.Errorf("filter %q", m.FilterName())
	}
	for _, l := range m.LogLines() {
		if l.Level != "error" {
			t.Errorf("filtered line of level %s", l.Level)
		}
	}
	if len(m.LogLines()) == 0 {
		t.Error("no error lines")
	}
	key(m, "f")
	if m.FilterName() != "all" {
		t.Errorf("filter %q", m.FilterName())
	}
	key(m, "l")
	if m.ShowLog || strings.Contains(m.View(), "log (") {
		t.Error("l: log pane still shown")
	}
	key(m, "l")
	if !strings.Contains(m.View(), "log (") {
		t.Error("l again: no log pane")
	}

	// Reconnecting is shown.
	m.Update(StatusMsg{Status: "reconnecting", Err: errors.New("connection refused"), Retry: time.Second})
	if !strings.Contains(m.View(), "reconnecting in 1.0s") {
		t.Errorf("no reconnecting notice:\n%s", m.View())
	}
	m.Update(StatusMsg{Status: "connected"})
	if strings.Contains(m.View(), "reconnecting") {
		t.Error("reconnecting after connected")
	}

	// q quits.
	if _, cmd := key(m, "q"); cmd == nil || cmd() != tea.Quit() {
		t.Error("q does not quit")
	}
}

func TestModelSpinnerAndETA(t *testing.T) {
	evs := load(t, "deploy-ok.jsonl", false)
	m := NewModel(New(), "DMON001/dev")
	var i int
	for i = range evs { // up to network deploying
		m.Update(EventsMsg{evs[i]})
		if s := m.State.Stacks["network"]; s != nil && s.Status == vocab.StackDeploying {
			break
		}
	}
	started := evs[i].Time
	m.Now = func() time.Time { return started.Add(time.Second) }
	for _, n := range m.State.Order() {
		m.State.AddHistory(n, 3*time.Second, 1)
	}
	v := m.View()
	if !strings.Contains(v, "ETA ~14.0s") {
		t.Errorf("no ETA:\n%s", v)
	}
	first := v
	m.Update(tickMsg(time.Now()))
	if m.View() == first {
		t.Error("spinner does not turn")
	}
}

func TestPicker(t *testing.T) {
	at := time.Date(2026, 12, 2, 17, 4, 33, 0, time.Local)
	p := &Picker{Items: []PickItem{
		{ID: "D1", Status: "deployed", Name: "acme/shop", Environments: []string{"dev:deployed", "prod:initialized"}, Updated: at},
		{ID: "D2", Status: "failed", Name: "acme/web"}}}
	// Twenty deployments can be told apart: by their project, their
	// environments and when they last changed, not only their IDs.
	if v := p.View(); !strings.Contains(v, "D1        acme/shop") || !strings.Contains(v, "failed") ||
		!strings.Contains(v, "dev:deployed prod:initialized") || !strings.Contains(v, "2026-12-02 17:04:33") {
		t.Errorf("view:\n%s", v)
	}
	key(p, "j")
	if _, cmd := key(p, "enter"); p.Chosen != "D2" || cmd == nil {
		t.Errorf("chosen %q", p.Chosen)
	}
	// Live statuses: new items keep the selection on the same deployment.
	r := &Picker{Items: p.Items, Selected: 1}
	r.Update(ItemsMsg{{ID: "D0", Status: "deploying"}, {ID: "D1", Status: "deployed"}, {ID: "D2", Status: "deployed"}})
	if r.Items[r.Selected].ID != "D2" || !strings.Contains(r.View(), "deploying") {
		t.Errorf("after new items: selected %d (%s)\n%s", r.Selected, r.Items[r.Selected].ID, r.View())
	}
	r.Update(ItemsMsg{{ID: "D0", Status: "deployed"}})
	if r.Selected != 0 {
		t.Errorf("the selected deployment went away: selected %d of 1", r.Selected)
	}
	q := &Picker{Items: p.Items}
	if _, cmd := key(q, "q"); cmd == nil || q.Chosen != "" {
		t.Error("q")
	}
}
