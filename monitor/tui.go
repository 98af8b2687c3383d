package monitor

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/vocab"
)

// Output is one output of a stack, as the details pane shows it.
type Output struct {
	Name   string
	Value  any
	Secret bool
}

// EventsMsg carries events to the Model.
type EventsMsg []*Event

// StatusMsg carries a change of the source's connection state.
type StatusMsg Update

// EndMsg tells the Model the stream has ended (Err says why, if it failed).
type EndMsg struct{ Err error }

type tickMsg time.Time

type outputsMsg struct {
	stack string
	outs  []Output
	err   error
}

// Log filters, in the order f cycles through them.
const (
	filterNone  = iota
	filterStack // the selected stack's lines
	filterWarn  // warnings and errors
	filterError // errors
	filterCount
)

// Model is the full-screen view: the bubbletea model of `cloud monitor`.
type Model struct {
	State *State
	// Title names what is monitored (deployment/environment).
	Title string
	// Outputs fetches a stack's outputs for the details pane (may be nil).
	Outputs func(stack string) ([]Output, error)
	// Now is the clock (default time.Now).
	Now func() time.Time

	Selected  int
	Details   bool
	ShowLog   bool
	Filter    int
	LogScroll int // lines scrolled up from the newest
	Width     int
	Height    int
	Conn      string // connection state: "", "connected", "reconnecting: …"
	Ended     bool
	Err       error
	frame     int
	outStack  string
	outs      []Output
	outErr    error
}

// NewModel returns a Model over st.
func NewModel(st *State, title string) *Model {
	return &Model{State: st, Title: title, ShowLog: true, Width: 100, Height: 40}
}

func (m *Model) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func tick() tea.Cmd {
	return tea.Tick(150*time.Millisecond, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd { return tick() }

// SelectedStack is the name of the selected stack ("" if none).
func (m *Model) SelectedStack() string {
	order := m.State.Order()
	if len(order) == 0 {
		return ""
	}
	m.Selected = min(max(m.Selected, 0), len(order)-1)
	return order[m.Selected]
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.Width, m.Height = msg.Width, msg.Height
	case tickMsg:
		m.frame++
		return m, tick()
	case EventsMsg:
		for _, ev := range msg {
			m.State.Apply(ev)
		}
	case StatusMsg:
		switch msg.Status {
		case "reconnecting":
			m.Conn = fmt.Sprintf("reconnecting in %s (%v)", human.Duration(msg.Retry), msg.Err)
		default:
			m.Conn = msg.Status
		}
	case EndMsg:
		m.Ended, m.Err = true, msg.Err
	case outputsMsg:
		if msg.stack == m.outStack {
			m.outs, m.outErr = msg.outs, msg.err
		}
	case tea.KeyMsg:
		return m, m.key(msg.String())
	}
	return m, nil
}

func (m *Model) key(k string) tea.Cmd {
	switch k {
	case "q", "ctrl+c":
		return tea.Quit
	case "up", "k":
		m.Selected = max(m.Selected-1, 0)
		m.refreshDetails()
	case "down", "j":
		m.Selected = min(m.Selected+1, max(len(m.State.Stacks)-1, 0))
		m.refreshDetails()
	case "enter":
		m.Details = !m.Details
		if m.Details {
			return m.fetchOutputs()
		}
	case "esc":
		m.Details = false
	case "l":
		m.ShowLog = !m.ShowLog
	case "f":
		m.Filter = (m.Filter + 1) % filterCount
		m.LogScroll = 0
	case "pgup", "ctrl+u":
		m.LogScroll += m.logHeight()
	case "pgdown", "ctrl+d":
		m.LogScroll = max(m.LogScroll-m.logHeight(), 0)
	}
	return nil
}

func (m *Model) refreshDetails() {
	if m.Details && m.outStack != m.SelectedStack() {
		m.outStack, m.outs, m.outErr = m.SelectedStack(), nil, nil
	}
}

func (m *Model) fetchOutputs() tea.Cmd {
	stack := m.SelectedStack()
	m.outStack, m.outs, m.outErr = stack, nil, nil
	if m.Outputs == nil || stack == "" {
		return nil
	}
	get := m.Outputs
	return func() tea.Msg {
		outs, err := get(stack)
		return outputsMsg{stack: stack, outs: outs, err: err}
	}
}

// FilterName describes the log filter.
func (m *Model) FilterName() string {
	switch m.Filter {
	case filterStack:
		return "stack " + m.SelectedStack()
	case filterWarn:
		return "warnings and errors"
	case filterError:
		return "errors"
	}
	return "all"
}

// LogLines are the log lines the filter lets through.
func (m *Model) LogLines() []LogLine {
	var out []LogLine
	stack := m.SelectedStack()
	for _, l := range m.State.Logs {
		switch m.Filter {
		case filterStack:
			if l.Stack != stack {
				continue
			}
		case filterWarn:
			if l.Level != "warning" && l.Level != "error" {
				continue
			}
		case filterError:
			if l.Level != "error" {
				continue
			}
		}
		out = append(out, l)
	}
	return out
}

func (m *Model) logHeight() int {
	if m.Height <= 0 {
		return 10
	}
	return max(m.Height/3, 3)
}

var (
	bold   = lipgloss.NewStyle().Bold(true)
	faint  = lipgloss.NewStyle().Faint(true)
	green  = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	red    = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	yellow = lipgloss.NewStyle().Foreground(lipgloss.Color("3"))
	cyan   = lipgloss.NewStyle().Foreground(lipgloss.Color("6"))
	invert = lipgloss.NewStyle().Reverse(true)
)

const spinner = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

func (m *Model) icon(status vocab.StackStatus) (string, lipgloss.Style) {
	switch {
	case status.Running():
		r := []rune(spinner)
		return string(r[m.frame%len(r)]), cyan
	case status == vocab.StackSkipped || status == vocab.StackCancelled:
		return "-", faint
	case status.Bad():
		return "✗", red
	case status.Finished():
		return "✓", green
	}
	return "·", faint
}

// View implements tea.Model.
func (m *Model) View() string {
	st, now := m.State, m.now()
	var b strings.Builder
	w := m.Width
	if w < 20 { // unknown
		w = 100
	}
	// Header: what, status, progress, time.
	c := st.Counts()
	status := string(st.Status)
	if status == "" {
		status = "waiting for events"
	}
	fmt.Fprintf(&b, "%s %s  %s %s %s\n", bold.Render("cloud monitor"), m.Title, st.OperationID, st.Kind, m.statusStyle(status).Render(status))
	line := fmt.Sprintf("%d/%d stacks done", c.Done(), c.Total)
	if c.Failed > 0 {
		line += red.Render(fmt.Sprintf(", %d failed", c.Failed))
	}
	line += fmt.Sprintf("  elapsed %s", human.Duration(st.Elapsed(now)))
	if left, ok := st.ETA(now); ok {
		line += fmt.Sprintf("  ETA ~%s", human.Duration(left))
	}
	switch {
	case strings.HasPrefix(m.Conn, "reconnecting"):
		line += "  " + yellow.Render(m.Conn)
	case m.Ended && m.Err != nil:
		line += "  " + red.Render("stream ended: "+m.Err.Error())
	}
	fmt.Fprintf(&b, "%s\n%s\n\n", line, bar(c.Done(), c.Total, min(w-2, 60)))
	// Stacks by layer.
	sel := m.SelectedStack()
	for _, layer := range st.Layers() {
		fmt.Fprintf(&b, "%s\n", faint.Render(fmt.Sprintf("layer %d", st.Stacks[layer[0]].Layer)))
		for _, n := range layer {
			s := st.Stacks[n]
			ic, style := m.icon(s.Status)
			row := fmt.Sprintf(" %s %-18s %-12s %7s  %-14s", style.Render(ic), n, style.Render(fmt.Sprintf("%-12s", s.Status)),
				human.Duration(s.Elapsed(now)), s.Progress())
			if ops := s.InFlight(); len(ops) > 0 {
				row += fmt.Sprintf(" %s %s", ops[0].Op, ops[0].Name)
				if len(ops) > 1 {
					row += fmt.Sprintf(" (+%d)", len(ops)-1)
				}
			} else if s.Reason != "" {
				row += " " + faint.Render(s.Reason)
			} else if s.Status.Bad() && s.Error != "" {
				first, _, _ := strings.Cut(s.Error, "\n")
				row += " " + red.Render(first)
			}
			if n == sel {
				row = invert.Render(">") + row
			} else {
				row = " " + row
			}
			b.WriteString(strings.TrimRight(ansi.Truncate(row, w, "…"), " ") + "\n")
		}
	}
	if len(st.Stacks) == 0 {
		b.WriteString(faint.Render("  no stacks yet") + "\n")
	}
	if ops := st.InFlight(); len(ops) > 0 {
		fmt.Fprintf(&b, "\n%s\n", bold.Render(fmt.Sprintf("in flight (%d)", len(ops))))
		for i, o := range ops {
			if i == 5 {
				fmt.Fprintf(&b, "  … %d more\n", len(ops)-5)
				break
			}
			fmt.Fprintf(&b, "  %-14s %-8s %s (%s) %s\n", o.Stack, o.Op, o.Name, o.Type, human.Duration(now.Sub(o.Since)))
		}
	}
	if m.Details && sel != "" {
		b.WriteString("\n" + m.details(sel, now))
	}
	if m.ShowLog {
		lines := m.LogLines()
		h := m.logHeight()
		end := max(len(lines)-m.LogScroll, 0)
		start := max(end-h, 0)
		fmt.Fprintf(&b, "\n%s\n", bold.Render(fmt.Sprintf("log (%s, %d lines)", m.FilterName(), len(lines))))
		for _, l := range lines[start:end] {
			lv := fmt.Sprintf("%-5s", level(l.Level))
			switch l.Level {
			case "error":
				lv = red.Render(lv)
			case "warning":
				lv = yellow.Render(lv)
			}
			b.WriteString(ansi.Truncate(fmt.Sprintf(" %s %s %-14s %s", human.Clock(l.Time), lv, l.Stack, l.Text), w, "…") + "\n")
		}
	}
	b.WriteString("\n" + faint.Render("↑/k ↓/j select · enter details · l log · f filter · pgup/pgdn scroll · q quit") + "\n")
	return b.String()
}

func (m *Model) details(n string, now time.Time) string {
	s := m.State.Stacks[n]
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", bold.Render("stack "+n))
	fmt.Fprintf(&b, "  status   %s", s.Status)
	if s.Reason != "" {
		fmt.Fprintf(&b, " (%s)", s.Reason)
	}
	fmt.Fprintf(&b, "\n  layer    %d\n  elapsed  %s\n  changes  %s  (%d failed)\n", s.Layer, human.Duration(s.Elapsed(now)), s.Progress(), s.FailedOps)
	if s.Error != "" {
		fmt.Fprintf(&b, "  error    %s\n", red.Render(firstLine(s.Error)))
	}
	for _, o := range s.InFlight() {
		fmt.Fprintf(&b, "  running  %s %s\n", o.Op, o.Name)
	}
	switch {
	case m.outErr != nil:
		fmt.Fprintf(&b, "  outputs  %s\n", red.Render(m.outErr.Error()))
	case len(m.outs) > 0:
		b.WriteString("  outputs\n")
		for _, o := range m.outs {
			v := fmt.Sprint(o.Value)
			if o.Secret {
				v = "[secret]"
			}
			fmt.Fprintf(&b, "    %-20s %s\n", o.Name, truncate(v, 80))
		}
	case m.Outputs != nil && m.outStack == n:
		b.WriteString("  outputs  none\n")
	}
	return b.String()
}

func (m *Model) statusStyle(status string) lipgloss.Style {
	switch vocab.OperationStatus(status) {
	case vocab.OpSucceeded:
		return green
	case vocab.OpFailed, vocab.OpCancelled, vocab.OpInterrupted:
		return red
	case vocab.OpRunning:
		return cyan
	}
	return faint
}

func bar(done, total, width int) string {
	if total == 0 || width <= 0 {
		return ""
	}
	n := done * width / total
	return "[" + strings.Repeat("█", n) + strings.Repeat("░", width-n) + "]"
}

func truncate(s string, n int) string { return ansi.Truncate(s, n, "…") }

// PickItem is a deployment the picker offers, with what tells it from
// the others: its organization and project, its environments' statuses
// and when it last changed.
type PickItem struct {
	ID, Status string
	// Name is organization/project.
	Name string
	// Environments are "name:status", in the manifest's order.
	Environments []string
	// Updated is when the deployment last changed (zero: unknown).
	Updated time.Time
}

// Picker lets the user pick a deployment: the bubbletea model `cloud
// monitor` runs without a DEPLOYMENT_ID.
type Picker struct {
	Items    []PickItem
	Selected int
	Chosen   string // set when the user pressed enter
}

// ItemsMsg replaces the picker's deployments (their statuses changed); the
// selection stays on the same deployment.
type ItemsMsg []PickItem

// Init implements tea.Model.
func (p *Picker) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (p *Picker) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if items, ok := msg.(ItemsMsg); ok {
		var sel string
		if p.Selected < len(p.Items) {
			sel = p.Items[p.Selected].ID
		}
		p.Items = items
		p.Selected = min(p.Selected, max(len(items)-1, 0))
		for i, it := range items {
			if it.ID == sel {
				p.Selected = i
			}
		}
		return p, nil
	}
	if k, ok := msg.(tea.KeyMsg); ok {
		switch k.String() {
		case "q", "ctrl+c", "esc":
			return p, tea.Quit
		case "up", "k":
			p.Selected = max(p.Selected-1, 0)
		case "down", "j":
			p.Selected = min(p.Selected+1, max(len(p.Items)-1, 0))
		case "enter":
			if len(p.Items) > 0 {
				p.Chosen = p.Items[p.Selected].ID
				return p, tea.Quit
			}
		}
	}
	return p, nil
}

// View implements tea.Model.
func (p *Picker) View() string {
	var b strings.Builder
	b.WriteString(bold.Render("cloud monitor: pick a deployment") + "\n\n")
	if len(p.Items) == 0 {
		b.WriteString(faint.Render("  no deployments") + "\n")
	}
	for i, it := range p.Items {
		mark := " "
		if i == p.Selected {
			mark = invert.Render(">")
		}
		line := fmt.Sprintf("%s %-9s %-24s %-13s %s", mark, it.ID, it.Name, it.Status, strings.Join(it.Environments, " "))
		if !it.Updated.IsZero() {
			line += "  " + faint.Render(human.DateTime(it.Updated))
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	b.WriteString("\n" + faint.Render("↑/k ↓/j select · enter monitor · q quit") + "\n")
	return b.String()
}
