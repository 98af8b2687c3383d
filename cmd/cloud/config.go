package main

// cloud config and cloud manifest: flag wiring and printers; the edits are the core's.

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cloudplatform/cloud/app"
	"github.com/urfave/cli/v2"
)

func configCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "config",
		Usage:     "show, set or edit a deployment's manifest",
		ArgsUsage: "ID",
		Description: `Without flags, prints the current manifest. --from-file validates a YAML file and
stores it as a new revision; nothing is stored when it is invalid.

Examples:
   cloud config D1BRV40
   cloud config D1BRV40 --from-file deployment-manifest.yaml
   cloud config edit D1BRV40
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
The key is checked first: a stack the manifest has not (unless KEY sets its
program, which adds it), a field a stack has not, or an input its program
does not declare, or a value of another type than the input's, is refused
with a did-you-mean. Then the new manifest is validated; nothing is stored
when it is invalid.

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
		}, {
			Name:      "unset",
			Usage:     "remove one value of the manifest (a new revision)",
			ArgsUsage: "ID KEY",
			Description: `KEY is a dotted path as for config set. The new manifest is validated
first; nothing is stored when it is invalid or KEY is not set.

Examples:
   cloud config unset D1BRV40 stacks.app.config.replicas
   cloud config unset D1BRV40 stacks.app.environments.prod.config.replicas`,
			Action: func(c *cli.Context) error {
				a, as, err := e.start(c, "ID", "KEY")
				if err != nil {
					return err
				}
				rev, err := a.UnsetConfig(c.Context, as[0], as[1])
				if err != nil {
					return err
				}
				e.status("%s removed (revision %d)", as[1], rev)
				return nil
			},
		}, {
			Name:      "edit",
			Usage:     "edit the manifest in $VISUAL or $EDITOR (a new revision)",
			ArgsUsage: "ID",
			Description: `Opens the current manifest in $VISUAL, else $EDITOR, else vi. When the
editor exits, the file is validated and stored as a new revision; an
unchanged file stores nothing. An invalid file is not stored: the errors
are printed (file, line, field) and, on a terminal, you can edit it again;
otherwise the command exits 2.

Examples:
   cloud config edit D1BRV40
   EDITOR="code --wait" cloud config edit D1BRV40`,
			Action: func(c *cli.Context) error {
				a, as, err := e.start(c, "ID")
				if err != nil {
					return err
				}
				return e.editManifest(c.Context, a, as[0])
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
			r, err := a.Revision(c.Context, as[0], c.Int("revision"))
			if err != nil {
				return err
			}
			return e.emit(r, func(w io.Writer) { fmt.Fprint(w, r.YAML) })
		},
	}
}

// editManifest runs the user's editor on deployment id's current manifest
// and stores the result as a new revision, looping while the file is
// invalid and there is a terminal to ask on.
func (e *env) editManifest(ctx context.Context, a *app.App, id string) error {
	cur, err := a.Revision(ctx, id, 0)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "cloud-edit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, id+".yaml")
	if err := os.WriteFile(file, []byte(cur.YAML), 0o600); err != nil {
		return err
	}
	editor := strings.Fields(cmp.Or(os.Getenv("VISUAL"), os.Getenv("EDITOR"), "vi"))
	for {
		cmd := exec.CommandContext(ctx, editor[0], append(editor[1:], file)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("editor %s: %w; nothing stored", strings.Join(editor, " "), err)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if string(data) == cur.YAML {
			e.status("no change; revision %d stays current", cur.Revision)
			return nil
		}
		rev, changed, err := a.ApplyManifest(ctx, id, file, data)
		if err == nil {
			if changed {
				e.status("stored revision %d of %s", rev, id)
			} else {
				e.status("the edited manifest is the current revision (%d); nothing changed", rev)
			}
			return nil
		}
		if !e.io.TTY {
			return err
		}
		fmt.Fprintf(e.io.Err, "%v\nnothing stored. Edit again? [Y/n] ", err)
		line, _ := bufio.NewReader(e.io.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a == "n" || a == "no" {
			return err
		}
	}
}
