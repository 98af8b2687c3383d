package vocab_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/cloudplatform/cloud"

// deps lists the packages matched by pattern with the module's packages
// each depends on (itself excluded), from `go list -deps -json`.
func deps(t *testing.T, pattern string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps,Module", pattern)
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", pattern, err, stderr.String())
	}
	got := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var own []string
		for _, d := range p.Deps {
			if d == module || strings.HasPrefix(d, module+"/") {
				own = append(own, d)
			}
		}
		got[p.ImportPath] = own
	}
	if len(got) == 0 {
		t.Fatalf("go list %s: no packages", pattern)
	}
	return got
}

// within reports whether pkg is dir or below it (dir relative to the
// module).
func within(pkg, dir string) bool {
	p := module + "/" + dir
	return pkg == p || strings.HasPrefix(pkg, p+"/")
}

// forbid fails for every package of pattern that depends on a package
// within one of dirs.
func forbid(t *testing.T, pattern string, dirs ...string) {
	t.Helper()
	for pkg, ds := range deps(t, pattern) {
		for _, d := range ds {
			for _, dir := range dirs {
				if within(d, dir) {
					t.Errorf("%s depends on %s: it must not depend on anything in %s/", pkg, d, dir)
				}
			}
		}
	}
}

// TestImportRules checks the layering docs/architecture.md describes.
func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	t.Run("vocab imports nothing from the module", func(t *testing.T) {
		for pkg, ds := range deps(t, "./vocab") {
			if len(ds) > 0 {
				t.Errorf("%s depends on %v: the vocabulary must import nothing from the module", pkg, ds)
			}
		}
	})
	t.Run("the monitor needs events, not the GraphQL executor", func(t *testing.T) {
		for pkg, ds := range deps(t, "./monitor/...") {
			for _, d := range ds {
				if d == module+"/graph" {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	})
	t.Run("sync depends on no application package", func(t *testing.T) {
		forbid(t, "./sync/...", "app", "graph", "server", "cmd")
	})
	t.Run("commands go through the core and the client seam", func(t *testing.T) {
		// Direct imports: the core itself imports the store and sync.
		cmd := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "./cmd/cloud")
		cmd.Dir = ".."
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		for _, imp := range strings.Fields(string(out)) {
			if within(imp, "store") || within(imp, "sync") {
				t.Errorf("cmd/cloud imports %s: commands call the core (app) or a client, not the store or sync", imp)
			}
		}
	})
}
