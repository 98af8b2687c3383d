package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/cloudplatform/cloud/server/rest"
)

// TestDoorsTable keeps the "capability × door" table of
// docs/architecture.md true: every CLI command (and flag) it names exists,
// every GraphQL field is a field of Query, Mutation or Subscription in
// graph/schema.graphqls, and every REST route is in the OpenAPI document
// (which TestRoutesMatchOpenAPI holds to the router's table).
func TestDoorsTable(t *testing.T) {
	root := filepath.Join("..", "..")
	md, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := doorsTable(t, string(md))
	if len(rows) < 30 {
		t.Fatalf("the capability table of docs/architecture.md has %d rows; is its header still | capability | CLI | GraphQL | REST |?", len(rows))
	}

	sdl, err := os.ReadFile(filepath.Join(root, "graph", "schema.graphqls"))
	if err != nil {
		t.Fatal(err)
	}
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(sdl)})
	if gerr != nil {
		t.Fatal(gerr)
	}
	fields := map[string]bool{}
	for _, typ := range []*ast.Definition{schema.Query, schema.Mutation, schema.Subscription} {
		for _, f := range typ.Fields {
			fields[f.Name] = true
		}
	}

	b, err := rest.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}

	app := newApp(&env{io: &streams{}})
	seen := map[string]bool{}
	for _, r := range rows {
		for _, c := range r.cli {
			if err := cliExists(app, c); err != "" {
				t.Errorf("%s: CLI %q: %s", r.capability, c, err)
			}
		}
		for _, f := range r.graphql {
			if !fields[f] {
				t.Errorf("%s: GraphQL field %q is not in graph/schema.graphqls", r.capability, f)
			}
			seen[f] = true
		}
		for _, rt := range r.rest {
			method, path, ok := strings.Cut(rt, " ")
			if _, has := doc.Paths[path][strings.ToLower(method)]; !ok || !has {
				t.Errorf("%s: REST route %q is not in server/rest/openapi.yaml", r.capability, rt)
			}
		}
	}
	// Every field of the API has its row.
	for f := range fields {
		if !seen[f] && !strings.HasPrefix(f, "__") {
			t.Errorf("GraphQL field %s is in no row of the capability table of docs/architecture.md", f)
		}
	}
}

type doorsRow struct {
	capability         string
	cli, graphql, rest []string
}

var backticked = regexp.MustCompile("`([^`]+)`")

// doorsTable parses the table whose header is | capability | CLI | GraphQL
// | REST |: each cell lists its doors in backticks ("—": none).
func doorsTable(t *testing.T, md string) []doorsRow {
	var rows []doorsRow
	in := false
	for _, line := range strings.Split(md, "\n") {
		line = strings.TrimSpace(line)
		if !in {
			in = strings.HasPrefix(line, "| capability | CLI | GraphQL | REST |")
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		if strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Fatalf("capability table row with %d cells, want 4: %s", len(cells), line)
		}
		ticks := func(cell string) []string {
			var out []string
			for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
				out = append(out, m[1])
			}
			if len(out) == 0 && strings.TrimSpace(cell) != "—" {
				t.Errorf("capability table cell %q: want doors in backticks, or —", cell)
			}
			return out
		}
		rows = append(rows, doorsRow{capability: strings.TrimSpace(cells[0]), cli: ticks(cells[1]), graphql: ticks(cells[2]), rest: ticks(cells[3])})
	}
	return rows
}

// cliExists says why "cloud WORDS… [--flag]" is not a command of app
// ("" when it is): the words are subcommands, the flags theirs.
func cliExists(app *cli.App, line string) string {
	words := strings.Fields(line)
	if len(words) == 0 || words[0] != "cloud" {
		return "does not start with cloud"
	}
	cmds := app.Commands
	var cmd *cli.Command
	for _, w := range words[1:] {
		if strings.HasPrefix(w, "-") {
			if cmd == nil || !slices.ContainsFunc(cmd.Flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), strings.TrimLeft(w, "-")) }) {
				return "no flag " + w
			}
			continue
		}
		i := slices.IndexFunc(cmds, func(c *cli.Command) bool { return c.Name == w })
		if i < 0 {
			return "no command " + w
		}
		cmd = cmds[i]
		cmds = cmd.Subcommands
	}
	return ""
}
