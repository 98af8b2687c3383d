package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"
)

// emit writes v as JSON or YAML when --output asks for it, else calls
// table. JSON field names are the YAML ones too, so both read the same.
func (e *env) emit(v any, table func(w io.Writer)) error {
	switch e.output {
	case "json":
		enc := json.NewEncoder(e.io.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			return err
		}
		out, err := yaml.Marshal(generic)
		if err != nil {
			return err
		}
		_, err = e.io.Out.Write(out)
		return err
	default:
		tw := newTable(e.io.Out)
		table(tw)
		return tw.Flush()
	}
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// status prints a status line to stderr unless --quiet.
func (e *env) status(format string, args ...any) {
	if !e.quiet {
		fmt.Fprintf(e.io.Err, format+"\n", args...)
	}
}

// paint colours s when colour is on.
func (e *env) paint(color, s string) string {
	if !e.color {
		return s
	}
	codes := map[string]string{"red": "31", "green": "32", "yellow": "33", "blue": "34", "gray": "90", "bold": "1", "cyan": "36"}
	return "\x1b[" + codes[color] + "m" + s + "\x1b[0m"
}

// cell is a coloured table cell: padded before colouring, because
// tabwriter would count the colour codes as width.
func (e *env) cell(color, s string) string {
	if !e.color {
		return s
	}
	return e.paint(color, fmt.Sprintf("%-12s", s))
}

// statusColor is the colour of a status word.
func statusColor(s string) string {
	switch s {
	case "deployed", "succeeded", "unchanged", "previewed", "destroyed", "in_sync":
		return "green"
	case "failed", "interrupted", "drifted":
		return "red"
	case "skipped", "cancelled", "partial":
		return "yellow"
	case "deploying", "destroying", "refreshing", "running", "pending":
		return "blue"
	}
	return "gray"
}

func row(w io.Writer, cols ...any) {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(w, strings.Join(parts, "\t"))
}

// duration formats a duration the way people read run times.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}

// changes formats a change summary: "+2 ~1 -0".
func changes(c map[string]int) string {
	if len(c) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range []string{"create", "update", "replace", "delete", "same"} {
		if c[k] > 0 {
			sym := map[string]string{"create": "+", "update": "~", "replace": "±", "delete": "-", "same": "="}[k]
			parts = append(parts, fmt.Sprintf("%s%d", sym, c[k]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
