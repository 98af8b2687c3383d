package main

// Shell completion of commands, flags and objects (IDs, environments, stacks, templates) read through the core.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/engine/manifest"

	"github.com/urfave/cli/v2"
)

// The bash and zsh scripts ask cloud itself for the candidates: urfave/cli
// answers --generate-bash-completion with the commands, subcommands or
// flags that fit the words typed so far.
const bashCompletion = `# bash completion for cloud; load with: source <(cloud completion bash)
_cloud_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  local candidates
  if [[ "$cur" == -* ]]; then
    candidates=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    candidates=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}
complete -o bashdefault -o default -F _cloud_complete cloud
`

const zshCompletion = `#compdef cloud
# zsh completion for cloud; load with: source <(cloud completion zsh)
_cloud() {
  local -a candidates
  local cur=${words[CURRENT]}
  if [[ "$cur" == -* ]]; then
    candidates=("${(@f)$(${words[1,CURRENT-1]} $cur --generate-bash-completion 2>/dev/null)}")
  else
    candidates=("${(@f)$(${words[1,CURRENT-1]} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ -n "${candidates[1]}" ]]; then
    _describe 'cloud' candidates
  else
    _files
  fi
}
compdef _cloud cloud
`

// fishCompletion asks cloud, as the bash and zsh scripts do, for what the
// words typed so far take, falling back to paths when it offers nothing
// (--from-file, --file).
const fishCompletion = `# fish completion for cloud; load with: cloud completion fish | source
function __cloud_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l candidates
    if string match -q -- '-*' $cur
        set candidates ($words $cur --generate-bash-completion 2>/dev/null)
    else
        set candidates ($words --generate-bash-completion 2>/dev/null)
    end
    if test (count $candidates) -gt 0
        printf '%s\n' $candidates
    else
        __fish_complete_path $cur
    end
end
complete -c cloud -f -a '(__cloud_complete)'
`

func completionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "SHELL",
		Description: `Completes commands, flags and the objects they take, from the local
store: deployment IDs, environments (-e), stacks (deploy-stack ID <TAB>,
logs --stack), templates (--template, show-template), registered stacks
and operation IDs. Completion reads the home; it never creates one.

Examples:
   source <(cloud completion bash)          # in ~/.bashrc
   source <(cloud completion zsh)           # in ~/.zshrc
   cloud completion fish > ~/.config/fish/completions/cloud.fish`,
		Action: func(c *cli.Context) error {
			as, err := args(c, "SHELL")
			if err != nil {
				return err
			}
			var script string
			switch as[0] {
			case "bash":
				script = bashCompletion
			case "zsh":
				script = zshCompletion
			case "fish":
				script = fishCompletion
			default:
				return usageError("completion: unknown shell %q (want bash, zsh or fish)", as[0])
			}
			_, err = io.WriteString(e.io.Out, script)
			return err
		},
	}
}

// unknownCommand is the root action: with no command it shows the help;
// with a mistyped one it is a usage error naming the closest command.
func unknownCommand(c *cli.Context) error {
	if c.NArg() == 0 {
		return cli.ShowAppHelp(c)
	}
	var names []string
	for _, cmd := range c.App.Commands {
		if !cmd.Hidden {
			names = append(names, cmd.Names()...)
		}
	}
	name := c.Args().First()
	msg := fmt.Sprintf("unknown command %q", name)
	if hint := manifest.Suggest(name, names); hint != "" {
		msg += " (" + hint + ")"
	}
	return usageError("%s; `cloud help` lists the commands", msg)
}

// completeFlag is the flag urfave/cli asks completion with.
const completeFlag = "--generate-bash-completion"

// completeObjects answers a completion request for the objects a command
// takes — deployment IDs, environments, stacks, templates, operations —
// which urfave/cli does not know: it prints the candidates for the word
// after argv (the value of -e ENV, or the next positional argument by the
// command's ArgsUsage) and reports whether it did. Otherwise urfave/cli
// completes commands and flags.
func completeObjects(e *env, root *cli.App, argv []string) bool {
	words := argv[1 : len(argv)-1]
	i := 0
	for i < len(words) && isFlag(words[i]) {
		if words[i] == "--home" && i+1 < len(words) {
			e.home = words[i+1]
		}
		i += flagArity(root.Flags, words[i])
	}
	var cmd *cli.Command
	cmds := root.Commands
	for i < len(words) && !isFlag(words[i]) {
		c := find(cmds, words[i])
		if c == nil {
			break
		}
		cmd, cmds = c, c.Subcommands
		i++
	}
	if cmd == nil || len(cmd.Subcommands) > 0 && cmd.Action == nil {
		return false
	}
	var positional []string
	valueOf := ""
	for ; i < len(words); i++ {
		w := words[i]
		if !isFlag(w) {
			positional = append(positional, w)
			continue
		}
		fs := cmd.Flags
		if lookup(fs, w) == nil {
			fs = root.Flags
		}
		if lookup(fs, w) == nil {
			continue
		}
		if n := flagArity(fs, w); n == 2 {
			if i+1 >= len(words) {
				valueOf = flagName(w)
			}
			i++
		}
		if w == "--home" && i < len(words) {
			e.home = words[i]
		}
	}
	if e.home == "" {
		e.home = os.Getenv("CLOUD_HOME")
		if e.home == "" {
			e.home = app.DefaultHome()
		}
	}
	if len(words) > 0 && isFlag(words[len(words)-1]) && valueOf == "" {
		return false // completing a flag's name
	}
	want := valueOf
	if want == "" {
		slots := strings.Fields(cmd.ArgsUsage)
		if len(positional) >= len(slots) {
			return false
		}
		want = strings.Trim(slots[len(positional)], "[]")
	}
	id := ""
	if len(positional) > 0 {
		id = positional[0]
	}
	candidates := objectCandidates(e, cmd.Name, want, id)
	for _, c := range candidates {
		fmt.Fprintln(e.io.Out, c)
	}
	return len(candidates) > 0
}

// objectCandidates lists the objects of a kind, from the local store.
func objectCandidates(e *env, command, kind, id string) []string {
	ctx := context.Background()
	open := func() *app.App {
		if _, err := os.Stat(filepath.Join(e.home, "cloud.db")); err != nil {
			return nil // completion never creates a home
		}
		a, err := e.open(ctx)
		if err != nil {
			return nil
		}
		return a
	}
	var out []string
	switch kind {
	case "ID", "DEPLOYMENT_ID":
		if a := open(); a != nil {
			ds, _ := a.List(ctx, true)
			for _, d := range ds {
				out = append(out, d.Deployment.ID)
			}
		}
	case "env", "e", "ENV":
		if a := open(); a != nil && id != "" {
			if m, _, err := a.Manifest(ctx, id); err == nil {
				out = m.EnvironmentNames()
			}
		}
	case "STACK", "stack", "engine":
		if a := open(); a != nil && id != "" {
			if m, _, err := a.Manifest(ctx, id); err == nil {
				for _, s := range m.Stacks {
					out = append(out, s.Name)
				}
			}
		}
	case "OPERATION_ID", "operation":
		if a := open(); a != nil {
			ds := []string{id}
			if id == "" {
				if list, err := a.List(ctx, true); err == nil {
					ds = nil
					for _, d := range list {
						ds = append(ds, d.Deployment.ID)
					}
				}
			}
			for _, d := range ds {
				ops, _ := a.History(ctx, d, "", 20)
				for _, op := range ops {
					out = append(out, op.ID)
				}
			}
		}
	case "template", "NAME":
		a := open()
		if a == nil {
			return nil
		}
		if kind == "NAME" && !strings.Contains(command, "template") {
			stacks, _ := a.ListStacks(ctx)
			for _, s := range stacks {
				out = append(out, s.Name)
			}
			return out
		}
		ts, _ := a.Templates(ctx)
		for _, t := range ts {
			out = append(out, t.Name)
		}
	case "SHELL":
		out = []string{"bash", "zsh", "fish"}
	}
	return out
}
