package main

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/cli.md from the command definitions")

// TestCLIDocs fails when docs/cli.md is not what the command definitions
// generate; `make docs` rewrites it.
func TestCLIDocs(t *testing.T) {
	const path = "../../docs/cli.md"
	got := cliMarkdown(newApp(&env{io: &streams{}}))
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("docs/cli.md is out of date: run `make docs`")
	}
}
