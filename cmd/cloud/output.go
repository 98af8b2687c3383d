package main

// Printers shared by the commands: -o json|yaml documents, aligned tables, colour, times.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"go.yaml.in/yaml/v3"

	"github.com/cloudplatform/cloud/vocab"
)

// emit writes v as JSON or YAML when --output asks for it, else calls
// table. JSON field names are the YAML ones too, so both read the same.
func (e *env) emit(v any, table func(w io.Writer)) error {
	// An empty list is [] in JSON and YAML, as the API answers it, never
	// null.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
		v = reflect.MakeSlice(rv.Type(), 0, 0).Interface()
	}
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

// newTable returns a writer of tab-separated rows that aligns them in
// columns when flushed, like text/tabwriter, but measures a cell by what a
// terminal shows (ansi.StringWidth): tabwriter counts colour codes as
// width, which misaligns every coloured table on a terminal.
func newTable(w io.Writer) *tableWriter { return &tableWriter{w: w} }

// tableWriter buffers rows until Flush. Each column is as wide as its
// widest cell across all rows; lines without a tab (headings, blank lines)
// are printed as they are.
type tableWriter struct {
	w   io.Writer
	buf bytes.Buffer
}

func (t *tableWriter) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Flush writes the aligned rows: cells separated by two spaces, the last
// non-empty cell of a row not padded.
func (t *tableWriter) Flush() error {
	text := t.buf.String()
	t.buf.Reset()
	lines := strings.SplitAfter(text, "\n")
	var widths []int
	rows := make([][]string, len(lines))
	for i, l := range lines {
		cells := strings.Split(strings.TrimSuffix(l, "\n"), "\t")
		rows[i] = cells
		for j, c := range cells[:len(cells)-1] {
			if j >= len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], ansi.StringWidth(c))
		}
	}
	var out strings.Builder
	for i, cells := range rows {
		// Empty cells at the end of a row are not padded either: no line
		// ends in spaces.
		for len(cells) > 1 && cells[len(cells)-1] == "" {
			cells = cells[:len(cells)-1]
		}
		for j, c := range cells {
			out.WriteString(c)
			if j < len(cells)-1 {
				out.WriteString(strings.Repeat(" ", widths[j]-ansi.StringWidth(c)+2))
			}
		}
		if strings.HasSuffix(lines[i], "\n") {
			out.WriteString("\n")
		}
	}
	_, err := io.WriteString(t.w, out.String())
	return err
}

// emitResult prints, with -o json or yaml, the document the API answers
// a change with, which read reads; a table prints nothing, the change
// having been told on standard error.
func (e *env) emitResult(read func() (any, error)) error {
	if e.output == "table" {
		return nil
	}
	doc, err := read()
	if err != nil {
		return err
	}
	return e.emit(doc, nil)
}

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

// cell is a coloured table cell (newTable measures it without its
// colour codes).
func (e *env) cell(color, s string) string { return e.paint(color, s) }

// statusColor is the colour of a status word.
// s is any status: of an operation, a stack or an environment (the words
// they share have one colour).
func statusColor[S ~string](s S) string {
	switch string(s) {
	case string(vocab.StackDeployed), string(vocab.OpSucceeded), string(vocab.StackUnchanged),
		string(vocab.StackPreviewed), string(vocab.StackDestroyed), string(vocab.StackInSync):
		return "green"
	case string(vocab.StackFailed), string(vocab.StackInterrupted), string(vocab.StackDrifted):
		return "red"
	case string(vocab.StackSkipped), string(vocab.StackCancelled), string(vocab.DeploymentPartial):
		return "yellow"
	case string(vocab.StackDeploying), string(vocab.StackDestroying), string(vocab.StackRefreshing),
		string(vocab.OpRunning), string(vocab.StackPending):
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
