package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// codePart is a row of docs/architecture.md's shared-code table: the
// packages (directories, with their subdirectories) and which doors use
// them.
type codePart struct {
	name   string
	dirs   []string
	usedBy string
	// door is which door's count the part goes into: "all" (every door),
	// "api" (GraphQL and REST), "cli", "rest".
	door string
}

var codeParts = []codePart{
	{"`app` (the application core)", []string{"app"}, "every door", "all"},
	{"`engine/*` (manifest, placeholder, graph, plan, scheduler, runner)", []string{"engine"}, "every door, through `app`", "all"},
	{"`store`, `store/feed`, `migrations`", []string{"store", "migrations"}, "every door, through `app`", "all"},
	{"`stacks/protocol`, `stacks/project`, `stacks/kit`, `internal/proc`", []string{"stacks/protocol", "stacks/project", "stacks/kit", "internal/proc"}, "`app`, the runners and every stack", "all"},
	{"`sync/*` (engine, remote, team lock, config, schema)", []string{"sync"}, "every door, through `app` (team sync, the team lock)", "all"},
	{"`auth/*` (token checks, Cognito)", []string{"auth"}, "the server; the CLI's `login`", "api"},
	{"`graph` (resolvers, conversions, errors, pagination)", []string{"graph"}, "GraphQL and REST", "api"},
	{"`server` (HTTP wiring, limits, WebSocket protocol, health, metrics, dashboard)", []string{"server"}, "GraphQL and REST", "api"},
	{"`server/rest` (routes, bodies, problems, the OpenAPI document's server)", []string{"server/rest"}, "REST only", "rest"},
	{"`monitor` (the terminal client)", []string{"monitor"}, "the CLI's `monitor`", "cli"},
	{"`vocab` (operation kinds, statuses, event types)", []string{"vocab"}, "every door", "all"},
	{"`document` (the API's documents, read through the resolvers)", []string{"document"}, "REST and the CLI", "all"},
	{"`client` (the CLI's seam: in process, or REST with token renewal and retries)", []string{"client"}, "the CLI only", "cli"},
	{"`cmd/cloud` (flags, options, argument order, tables, live progress)", []string{"cmd/cloud"}, "the CLI only", "cli"},
}

// goLines counts the lines of the non-test, non-generated Go files under
// dir, leaving out the directories of other parts (server/rest is not
// server's).
func goLines(t *testing.T, dir string, exclude []string) int {
	t.Helper()
	n := 0
	root := filepath.Join("..", "..", dir)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join("..", ".."), p)
		if d.IsDir() {
			for _, x := range exclude {
				if rel == x && x != dir {
					return filepath.SkipDir
				}
			}
			// Test data and test support (servers the tests start, fakes)
			// are not code a door runs.
			switch name := d.Name(); {
			case name == "testdata", name == "node_modules", name == "testtools", name == "cognitolocal", name == "faultproxy",
				strings.HasSuffix(name, "test"):
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || name == "generated.go" || name == "models_gen.go" {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			n++
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// codeShareTable is the table and the sentence under it, from the code as
// it is.
func codeShareTable(t *testing.T) string {
	var all []string
	for _, p := range codeParts {
		all = append(all, p.dirs...)
	}
	counts := map[string]int{}
	var b strings.Builder
	b.WriteString("| part | lines | used by |\n| --- | --- | --- |\n")
	for _, p := range codeParts {
		n := 0
		for _, d := range p.dirs {
			n += goLines(t, d, all)
		}
		counts[p.door] += n
		fmt.Fprintf(&b, "| %s | %s | %s |\n", p.name, thousands(n), p.usedBy)
	}
	cli := counts["all"] + counts["cli"]
	rest := counts["all"] + counts["api"] + counts["rest"]
	fmt.Fprintf(&b, "\nBehind a CLI command, %d%% of the code is the part every door shares (%s of %s lines); behind a REST call, %d%% is that part and %d%% what REST shares with GraphQL (of %s).\n",
		counts["all"]*100/cli, thousands(counts["all"]), thousands(cli),
		counts["all"]*100/rest, counts["api"]*100/rest, thousands(rest))
	return b.String()
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestCodeShareFigures holds docs/architecture.md's shared-code figures to
// the code: each within 10% of a fresh count (they drift with every change;
// `make docs` rewrites them exactly).
func TestCodeShareFigures(t *testing.T) {
	const path = "../../docs/architecture.md"
	const begin, end = "<!-- codeshare:begin (make docs) -->\n", "<!-- codeshare:end -->"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q … %q block", path, strings.TrimSpace(begin), end)
	}
	fresh := codeShareTable(t)
	if *update {
		if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+fresh+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	number := regexp.MustCompile(`\d[\d,]*`)
	got, want := number.FindAllString(doc[i+len(begin):j], -1), number.FindAllString(fresh, -1)
	if len(got) != len(want) {
		t.Fatalf("docs/architecture.md's shared-code figures have another shape than the count: run `make docs`")
	}
	for k := range got {
		g, _ := strconv.Atoi(strings.ReplaceAll(got[k], ",", ""))
		w, _ := strconv.Atoi(strings.ReplaceAll(want[k], ",", ""))
		if d := g - w; d*10 > w || -d*10 > w {
			t.Errorf("docs/architecture.md says %s where the code counts %s (more than 10%% off): run `make docs`", got[k], want[k])
		}
	}
}
