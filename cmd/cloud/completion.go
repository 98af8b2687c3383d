package main

import (
	"fmt"
	"io"

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

func completionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "SHELL",
		Description: `Examples:
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
				if script, err = c.App.ToFishCompletion(); err != nil {
					return err
				}
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
