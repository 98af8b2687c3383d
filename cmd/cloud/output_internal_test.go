package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestTableAlignsColouredCells: columns line up as a terminal shows them,
// colour codes taking no width.
func TestTableAlignsColouredCells(t *testing.T) {
	e := &env{color: true}
	var b bytes.Buffer
	tw := newTable(&b)
	row(tw, "STACK", "STATUS", "NOTE")
	row(tw, "network", e.cell("green", "deployed"), "-")
	row(tw, "db", e.cell("red", "interrupted"), "runner died")
	tw.Write([]byte("\nA heading line\n"))
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(ansi.Strip(b.String()), "\n")
	want := []string{
		"STACK    STATUS       NOTE",
		"network  deployed     -",
		"db       interrupted  runner died",
		"",
		"A heading line",
		"",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("table as shown:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(b.String(), "\x1b[") {
		t.Error("the cells lost their colour")
	}
}
