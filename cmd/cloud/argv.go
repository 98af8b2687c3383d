package main

// Argument order: flags may follow arguments (wiring, no rules).

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed rewrites argv so that flags may follow positional arguments
// and global flags may follow the command, as in
// `cloud deploy D1BRV40 -e dev --output json`. urfave/cli v2 parses with the
// standard flag package, which stops at the first positional argument; the
// rewrite puts global flags before the command and command flags before its
// arguments. Everything after "--" stays as it is.
func interspersed(app *cli.App, argv []string) []string {
	// Shell completion asks with this flag last; urfave/cli looks for it
	// there.
	if len(argv) < 2 || argv[len(argv)-1] == "--generate-bash-completion" {
		return argv
	}
	out := []string{argv[0]}
	var global, path, flags, pos, dangling []string
	rest := argv[1:]

	// Leading global flags.
	for len(rest) > 0 && isFlag(rest[0]) {
		n := flagArity(app.Flags, rest[0])
		global = append(global, rest[:min(n, len(rest))]...)
		rest = rest[min(n, len(rest)):]
	}
	// The command path (command, subcommand).
	cmds := app.Commands
	var cmd *cli.Command
	for len(rest) > 0 && !isFlag(rest[0]) {
		c := find(cmds, rest[0])
		if c == nil {
			break
		}
		cmd, cmds = c, c.Subcommands
		path = append(path, rest[0])
		rest = rest[1:]
	}
	if cmd == nil {
		return argv
	}
	// Subcommand names may come after the command's flags; look again.
	for i, a := range rest {
		if c := find(cmd.Subcommands, a); c != nil && !isFlag(a) {
			pre := rest[:i]
			cmd = c
			path = append(path, a)
			rest = append(append([]string{}, pre...), rest[i+1:]...)
			break
		}
	}
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			pos = append(pos, rest[i:]...)
			break
		}
		if !isFlag(a) {
			pos = append(pos, a)
			continue
		}
		fs := cmd.Flags
		dst := &flags
		// --help stays with the command: every command has it, added
		// by urfave/cli only when it runs.
		if !hasFlag(cmd.Flags, a) && hasFlag(app.Flags, a) && !hasFlag([]cli.Flag{cli.HelpFlag}, a) {
			fs, dst = app.Flags, &global
		}
		n := flagArity(fs, a)
		if i+n > len(rest) {
			// A flag missing its value (`deploy ID -e`) stays last, so the
			// parser says the flag needs a value instead of taking the ID.
			dangling = append(dangling, a)
			continue
		}
		*dst = append(*dst, rest[i:i+n]...)
		i += n - 1
	}
	out = append(out, global...)
	out = append(out, path...)
	out = append(out, flags...)
	out = append(out, pos...)
	return append(out, dangling...)
}

func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' }

func flagName(a string) string {
	a = strings.TrimLeft(a, "-")
	if i := strings.IndexByte(a, '='); i >= 0 {
		a = a[:i]
	}
	return a
}

func lookup(fs []cli.Flag, a string) cli.Flag {
	name := flagName(a)
	for _, f := range fs {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func hasFlag(fs []cli.Flag, a string) bool { return lookup(fs, a) != nil }

// flagArity is how many argv items a flag takes: 1 for booleans and
// --name=value, 2 for a flag followed by its value.
func flagArity(fs []cli.Flag, a string) int {
	if strings.Contains(a, "=") {
		return 1
	}
	f := lookup(fs, a)
	if f == nil {
		return 1
	}
	if _, ok := f.(*cli.BoolFlag); ok {
		return 1
	}
	return 2
}

func find(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
