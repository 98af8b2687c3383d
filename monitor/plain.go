package monitor

import (
	"fmt"
	"strings"

	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/vocab"
)

// LayerList formats the stacks by layer in the order they run, each
// layer numbered as status numbers it: "L0[network] L1[app db]", and
// "L1[app db] L0[network]" for a destroy.
func (s *State) LayerList() string {
	var parts []string
	for _, l := range s.Layers() {
		parts = append(parts, fmt.Sprintf("L%d[%s]", s.Stacks[l[0]].Layer, strings.Join(l, " ")))
	}
	return strings.Join(parts, " ")
}

// Progress formats a stack's resource changes so far as the report's
// CHANGES column does (human.Changes: "+2 ~1 =3"); "" for a stack that
// has not run (pending, or left unchanged by smart skip).
func (s *Stack) Progress() string {
	if s.Started.IsZero() && s.Created+s.Updated+s.Deleted+s.Replaced+s.Same == 0 {
		return ""
	}
	return human.Changes(map[string]int{"create": s.Created, "update": s.Updated, "replace": s.Replaced,
		"delete": s.Deleted, "same": s.Same})
}

// PlainLine renders ev, already applied to st, as one line for --plain
// output; "" for events not worth a line (resource starts, debug output).
func PlainLine(st *State, ev *Event) string {
	at := human.Clock(ev.Time)
	switch vocab.EventType(ev.Kind) {
	case vocab.EventOperation:
		line := fmt.Sprintf("%s operation %s %s %s", at, ev.OperationID, st.Kind, st.Status)
		if st.Ended() {
			c := st.Counts()
			line += fmt.Sprintf(" in %s: %d/%d stacks ok, %d failed, %d skipped", human.Duration(st.Elapsed(ev.Time)),
				c.Succeeded, c.Total, c.Failed, c.Skipped)
		}
		return line
	case vocab.EventPlan:
		return fmt.Sprintf("%s plan %s of %s/%s: %d stacks %s", at, st.Kind, st.DeploymentID, st.Environment,
			len(st.Stacks), st.LayerList())
	case vocab.EventStack:
		s := st.Stacks[ev.Stack]
		if s == nil {
			return ""
		}
		line := fmt.Sprintf("%s stack %-16s %s", at, s.Name, s.Status)
		if s.Reason != "" {
			line += " (" + s.Reason + ")"
		}
		if s.Status.Finished() && !s.Started.IsZero() {
			line += fmt.Sprintf(" in %s, %s", human.Duration(s.Elapsed(ev.Time)), s.Progress())
		}
		if s.Error != "" && s.Status.Bad() {
			line += ": " + firstLine(s.Error)
		}
		if c := st.Counts(); s.Status.Finished() {
			line += fmt.Sprintf(" [%d/%d]", c.Done(), c.Total)
		}
		return line
	case vocab.EventEngine:
		var e engineEvent
		if Decode(ev, &e) != nil {
			return ""
		}
		switch e.Type {
		case "diagnostic":
			if e.Severity == "debug" || strings.TrimSpace(e.Message) == "" {
				return ""
			}
			return fmt.Sprintf("%s %-5s %-16s %s", at, level(e.Severity), ev.Stack, firstLine(e.Message))
		case "resource.done", "resource.failed":
			if e.Resource == "pulumi:pulumi:Stack" || isProvider(e.Resource) || e.Op == "same" || e.Op == "read" {
				return ""
			}
			verb := "done"
			if e.Type == "resource.failed" {
				verb = "FAILED"
			}
			return fmt.Sprintf("%s res   %-16s %s %s %s (%s)%s", at, ev.Stack, e.Op, e.Name, verb, e.Resource, human.Diff(e.Diffs))
		}
	case vocab.EventLog:
		var p struct{ Level, Text string }
		if Decode(ev, &p) != nil || p.Text == "" || p.Level == "debug" {
			return ""
		}
		who := ev.Stack
		if who == "" {
			who = "-"
		}
		return fmt.Sprintf("%s %-5s %-16s %s", at, level(p.Level), who, firstLine(p.Text))
	}
	return ""
}

func level(l string) string {
	switch l {
	case "warning":
		return "warn"
	case "":
		return "info"
	}
	return l
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
