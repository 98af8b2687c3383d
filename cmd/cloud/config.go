package main

import (
	"fmt"
	"io"

	"github.com/cloudplatform/cloud/app"
	"github.com/urfave/cli/v2"
)

func configCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "config",
		Usage:     "show or change a deployment's manifest",
		ArgsUsage: "ID",
		Description: `Without flags, prints the current manifest. --from-file validates a YAML file and
stores it as a new revision; nothing is stored when it is invalid.

Examples:
   cloud config D1BRV40
   cloud config D1BRV40 --from-file deployment-manifest.yaml
   cloud config set D1BRV40 stacks.app.config.replicas 3`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from-file", Aliases: []string{"f"}, Usage: "apply this manifest as a new revision"},
			&cli.IntFlag{Name: "revision", Usage: "show this revision instead of the current one"},
		},
		Subcommands: []*cli.Command{{
			Name:      "set",
			Usage:     "set one value of the manifest (a new revision)",
			ArgsUsage: "ID KEY VALUE",
			Description: `KEY is a dotted path: a top-level field (domain), environments.ENV.enabled,
environments.ENV.region, environments.ENV.account_id, stacks.STACK.enabled,
stacks.STACK.program, stacks.STACK.layer, stacks.STACK.dependencies,
stacks.STACK.config.KEY or stacks.STACK.environments.ENV.config.KEY. VALUE is
read as YAML: 3 is a number, true a boolean, [a, b] a list, "3" a string.
The new manifest is validated first; nothing is stored when it is invalid.

Examples:
   cloud config set D1BRV40 stacks.app.config.replicas 3
   cloud config set D1BRV40 environments.prod.account_id '"123456789012"'
   cloud config set D1BRV40 stacks.monitoring.enabled false`,
			Action: func(c *cli.Context) error {
				a, as, err := e.start(c, "ID", "KEY", "VALUE")
				if err != nil {
					return err
				}
				rev, err := a.SetConfig(c.Context, as[0], as[1], as[2])
				if err != nil {
					return err
				}
				e.status("%s = %s (revision %d)", as[1], as[2], rev)
				return nil
			},
		}},
		Action: func(c *cli.Context) error {
			a, as, err := e.start(c, "ID")
			if err != nil {
				return err
			}
			if f := c.String("from-file"); f != "" {
				data, err := app.ReadManifestFile(f)
				if err != nil {
					return err
				}
				rev, changed, err := a.ApplyManifest(c.Context, as[0], f, data)
				if err != nil {
					return err
				}
				if changed {
					e.status("applied %s as revision %d", f, rev)
				} else {
					e.status("%s is the current revision (%d); nothing changed", f, rev)
				}
				return nil
			}
			r, err := a.Store().Revision(c.Context, as[0], c.Int("revision"))
			if err != nil {
				return fmt.Errorf("deployment %s: %w", as[0], err)
			}
			return e.emit(r, func(w io.Writer) { fmt.Fprint(w, r.YAML) })
		},
	}
}
