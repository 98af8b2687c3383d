package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/urfave/cli/v2"
)

func outputsCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "outputs",
		Usage: "show the outputs of one stack or all stacks (secrets masked unless --show-secrets)",
		Description: `Shows the outputs of one stack, or of every stack, in an environment.
Secret values print as [secret] unless --show-secrets. A secret synced from
another machine is sealed with that machine's key and prints as
[secret, sealed on another machine].

Examples:
   cloud outputs D1BRV40 -e dev
   cloud outputs D1BRV40 database -e dev --show-secrets
   cloud outputs D1BRV40 network -e dev -o json`,
		ArgsUsage: "ID [STACK]",
		Flags: []cli.Flag{
			envFlag(),
			&cli.BoolFlag{Name: "show-secrets", Usage: "print secret values"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return usageError("outputs: want ID [STACK]")
			}
			if srv := e.server(c); srv != "" {
				return e.remoteOutputs(c, srv, c.Args().Get(0), c.String("env"), c.Args().Get(1), c.Bool("show-secrets"))
			}
			a, err := e.open(c.Context)
			if err != nil {
				return err
			}
			all, err := a.Outputs(c.Context, c.Args().Get(0), c.String("env"), c.Args().Get(1), c.Bool("show-secrets"))
			if err != nil {
				return err
			}
			// JSON and YAML get plain maps: stack -> name -> value.
			plain := map[string]map[string]any{}
			for s, outs := range all {
				plain[s] = map[string]any{}
				for k, v := range outs {
					if v.Sealed {
						plain[s][k] = sealedText
					} else if v.Secret && v.Value == nil {
						plain[s][k] = "[secret]"
					} else {
						plain[s][k] = v.Value
					}
				}
			}
			return e.emit(plain, func(w io.Writer) {
				row(w, "STACK", "OUTPUT", "VALUE")
				stacks := make([]string, 0, len(all))
				for s := range all {
					stacks = append(stacks, s)
				}
				sort.Strings(stacks)
				for _, s := range stacks {
					names := make([]string, 0, len(all[s]))
					for k := range all[s] {
						names = append(names, k)
					}
					sort.Strings(names)
					for _, k := range names {
						v := all[s][k]
						text := "[secret]"
						if v.Sealed {
							text = sealedText
						} else if !v.Secret || v.Value != nil {
							b, _ := json.Marshal(v.Value)
							text = string(b)
							if str, ok := v.Value.(string); ok {
								text = str
							}
						}
						row(w, s, k, text)
					}
				}
				if len(all) == 0 {
					fmt.Fprintln(w, "(no outputs)")
				}
			})
		},
	}
}

// sealedText stands for a secret output synced from another machine, which
// this one cannot open.
const sealedText = "[secret, sealed on another machine]"
