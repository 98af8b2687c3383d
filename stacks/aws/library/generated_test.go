package library

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated files")

const root = "../../.."

// generated are the files this package makes, by path from the root.
func generated(t *testing.T) map[string][]byte {
	t.Helper()
	all, err := Load(root)
	if err != nil {
		t.Fatalf("load the library's templates: %v", err)
	}
	def, err := DeploymentTemplate(all, "The AWS stack library: sixteen stacks wired by placeholders; only network enabled", Stacks, []string{"network"})
	if err != nil {
		t.Fatal(err)
	}
	min, err := DeploymentTemplate(all, "A small team's start: network, security, storage and a PostgreSQL database", Minimal, Minimal)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := Docs(all)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"app/templates/default.yaml": def,
		"app/templates/minimal.yaml": min,
		"docs/stacks.md":             docs,
	}
}

// TestGeneratedFilesAreCurrent: the default and minimal templates and
// docs/stacks.md are what the stacks' templates make.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	for path, want := range generated(t) {
		file := filepath.Join(root, path)
		if *update {
			if err := os.WriteFile(file, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(file)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale (%v): run `go test ./stacks/aws/library -update`", path, err)
		}
	}
}
