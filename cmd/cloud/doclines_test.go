package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// docFiles are the documents a user reads: the README and docs/*.md.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../../README.md"}, files...)
}

// TestDocumentedCommandLines checks every `cloud …` command line in a code
// block of the README and docs/*.md: it names an existing command, and
// only flags that command or the global options have. The CLI reference
// (docs/cli.md) is generated; this holds the prose documents to the same
// commands.
func TestDocumentedCommandLines(t *testing.T) {
	app := newApp(&env{io: &streams{}})
	n := 0
	for _, file := range docFiles(t) {
		for _, l := range commandLines(t, file) {
			n++
			if err := checkCommandLine(app, l.args); err != nil {
				t.Errorf("%s:%d: %s: %v", strings.TrimPrefix(file, "../../"), l.line, l.text, err)
			}
		}
	}
	if n < 50 {
		t.Errorf("found only %d documented command lines: is the scanner broken?", n)
	}
}

type docLine struct {
	line int
	text string
	args []string // after "cloud"
}

// commandLines finds the cloud command lines in a Markdown file's code
// blocks: every line of a sh/bash/shell/plain block, and the "$ " lines of a
// console block (the rest is output). A line continued with "\" is joined.
func commandLines(t *testing.T, file string) []docLine {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []docLine
	inBlock, shell, console := false, false, false
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		raw := lines[i]
		trimmed := strings.TrimSpace(raw)
		if strings.HasPrefix(trimmed, "```") {
			if inBlock {
				inBlock = false
				continue
			}
			inBlock = true
			lang := strings.TrimPrefix(trimmed, "```")
			console = lang == "console"
			shell = console || lang == "" || lang == "sh" || lang == "bash" || lang == "shell"
			continue
		}
		if !inBlock || !shell {
			continue
		}
		start := i + 1
		text := trimmed
		if console {
			var ok bool
			if text, ok = strings.CutPrefix(text, "$ "); !ok {
				continue
			}
		}
		for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(lines[i])
		}
		for _, cmd := range shellCommands(text) {
			if args, ok := cloudArgs(cmd); ok {
				out = append(out, docLine{line: start, text: strings.Join(cmd, " "), args: args})
			}
		}
	}
	return out
}

// shellCommands splits a shell line into its simple commands' words: at
// |, &&, ||, ; and a comment, quotes respected, redirections dropped.
func shellCommands(line string) [][]string {
	var cmds [][]string
	var words []string
	var word strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	end := func() {
		flush()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				j = len(line) - i - 1
			}
			word.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			end()
			return cmds
		case c == '|' || c == ';' || c == '&' || c == '(' || c == ')':
			end()
		case c == '>' || c == '<':
			// A redirection: drop it and its target.
			flush()
			for i+1 < len(line) && (line[i+1] == '>' || line[i+1] == '&' || line[i+1] == ' ') {
				i++
			}
			for i+1 < len(line) && line[i+1] != ' ' && line[i+1] != '|' && line[i+1] != ';' {
				i++
			}
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	end()
	return cmds
}

// envAssign is a leading VAR=value of a shell command.
var envAssign = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// cloudArgs returns the arguments of a command that runs cloud (cloud,
// bin/cloud, ./bin/cloud, after any VAR=value and env/time/sudo).
func cloudArgs(words []string) ([]string, bool) {
	for len(words) > 0 && (envAssign.MatchString(words[0]) || slices.Contains([]string{"env", "time", "sudo", "exec"}, words[0])) {
		words = words[1:]
	}
	if len(words) == 0 {
		return nil, false
	}
	switch words[0] {
	case "cloud", "bin/cloud", "./bin/cloud", "$(go env GOPATH)/bin/cloud":
		return words[1:], true
	}
	return nil, false
}

// checkCommandLine checks a command line's command path and flags against
// the CLI's definitions, as interspersed parses them: global options
// before or after the command, the command's own flags after it.
func checkCommandLine(app *cli.App, args []string) error {
	i := 0
	for i < len(args) && isFlag(args[i]) {
		if lookup(app.Flags, args[i]) == nil {
			return fmt.Errorf("no global option %s", args[i])
		}
		i += flagArity(app.Flags, args[i])
	}
	if i >= len(args) {
		return nil // `cloud --version` and the like
	}
	var cmd *cli.Command
	cmds := app.Commands
	path := []string{}
	for i < len(args) && !isFlag(args[i]) {
		c := find(cmds, args[i])
		if c == nil {
			break
		}
		cmd, cmds = c, c.Subcommands
		path = append(path, args[i])
		i++
	}
	if cmd == nil {
		return fmt.Errorf("no command %q", args[i])
	}
	if len(cmd.Subcommands) > 0 && cmd.Action == nil && i < len(args) && !isFlag(args[i]) {
		return fmt.Errorf("%s has no subcommand %q", strings.Join(path, " "), args[i])
	}
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !isFlag(a) || a == "-" {
			continue
		}
		if flagName(a) == "help" || flagName(a) == "h" {
			continue
		}
		fs := cmd.Flags
		if lookup(fs, a) == nil {
			fs = app.Flags
		}
		if lookup(fs, a) == nil {
			return fmt.Errorf("%s has no flag %s", strings.Join(path, " "), a)
		}
		i += flagArity(fs, a) - 1
	}
	return nil
}

// TestDocumentLinks checks that every relative link of the README and
// docs/*.md names a file that exists and, with #anchor, a heading in it,
// and that every file in docs/images is used by some document.
func TestDocumentLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	used := map[string]bool{}
	for _, file := range docFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(data), "\n") {
			for _, m := range link.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				path, anchor, _ := strings.Cut(target, "#")
				resolved := file
				if path != "" {
					resolved = filepath.Join(filepath.Dir(file), path)
				}
				where := fmt.Sprintf("%s:%d", strings.TrimPrefix(file, "../../"), n+1)
				if _, err := os.Stat(resolved); err != nil {
					t.Errorf("%s: link %s: no such file", where, target)
					continue
				}
				used[filepath.Clean(resolved)] = true
				if anchor != "" && strings.HasSuffix(resolved, ".md") && !slices.Contains(anchors(t, resolved), anchor) {
					t.Errorf("%s: link %s: no heading with anchor #%s in %s", where, target, anchor, filepath.Base(resolved))
				}
			}
		}
		// Images may also be named in HTML or plain text.
		for _, img := range imageFiles(t) {
			if strings.Contains(string(data), filepath.Base(img)) {
				used[filepath.Clean(img)] = true
			}
		}
	}
	for _, img := range imageFiles(t) {
		if !used[filepath.Clean(img)] {
			t.Errorf("%s is referenced by no document", strings.TrimPrefix(img, "../../"))
		}
	}
}

func imageFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/images/*")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// anchors are the GitHub anchors of a Markdown file's headings.
func anchors(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	seen := map[string]int{}
	inBlock := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inBlock = !inBlock
			continue
		}
		if inBlock || !strings.HasPrefix(line, "#") {
			continue
		}
		a := slug(strings.TrimLeft(line, "# "))
		if k := seen[a]; k > 0 {
			out = append(out, fmt.Sprintf("%s-%d", a, k))
		} else {
			out = append(out, a)
		}
		seen[a]++
	}
	return out
}

// slug is GitHub's anchor of a heading: lower case, punctuation other than
// - and _ dropped, spaces as -.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 && !strings.ContainsRune("—–…’“”·→", r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
