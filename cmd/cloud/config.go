package main

// cloud config and its subcommands: options, flag wiring, run functions and printers; the edits are the core's.

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
	"github.com/cloudplatform/cloud/client"
	"github.com/urfave/cli/v2"
)

// configOptions are what `cloud config` runs with.
type configOptions struct {
	App func() (*app.App, error)
	ID  string
	// File is a manifest stored as a new revision ("": show one).
	File string
	// Revision is the revision shown (0: the one in force).
	Revision int
}

// configSetOptions are what `cloud config set` and `cloud config unset`
// run with.
type configSetOptions struct {
	App   func() (*app.App, error)
	ID    string
	Key   string
	Value string
	// Unset removes Key rather than setting it to Value.
	Unset bool
}

// configEditOptions are what `cloud config edit` runs with.
type configEditOptions struct {
	App func() (*app.App, error)
	ID  string
	// Editor is a shell command, as $VISUAL and $EDITOR hold it.
	Editor string
}

func configCommand(e *env, runF func(context.Context, *configOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "config",
		Usage:     "show, set or edit a deployment's manifest",
		ArgsUsage: "ID",
		Description: `Without flags, prints the current manifest (-o json: its revision's
document, as GET /deployments/ID/manifest serves it). --from-file validates
a YAML file and stores it as a new revision; nothing is stored when it is
invalid.

Examples:
   cloud config D1BRV40
   cloud config D1BRV40 --revision 2
   cloud config D1BRV40 --from-file deployment-manifest.yaml
   cloud config edit D1BRV40
   cloud config set D1BRV40 stacks.app.config.replicas 3`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from-file", Aliases: []string{"f"}, Usage: "apply this manifest as a new revision"},
			&cli.IntFlag{Name: "revision", Usage: "show this revision instead of the current one"},
		},
		Subcommands: []*cli.Command{configSetCommand(e, nil), configUnsetCommand(e, nil), configEditCommand(e, nil)},
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			opts := &configOptions{App: e.lazyApp(c), ID: as[0], File: c.String("from-file"), Revision: c.Int("revision")}
			switch {
			case opts.Revision < 0:
				return usageError("config: --revision must be 1 or more, not %d", opts.Revision)
			case opts.Revision > 0 && opts.File != "":
				return usageError("config: --revision shows a revision and --from-file stores one: give one of them")
			}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.configRun(c.Context, opts)
		},
	}
}

// configRun prints a manifest revision, or stores File as a new one.
func (e *env) configRun(ctx context.Context, opts *configOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	docs := client.NewLocal(a).Documents()
	if opts.File == "" {
		var rev *int
		if opts.Revision > 0 {
			rev = &opts.Revision
		}
		m, err := docs.Manifest(ctx, opts.ID, rev)
		if err != nil {
			return err
		}
		return e.emit(m, func(w io.Writer) { fmt.Fprint(w, m.Yaml) })
	}
	data, err := app.ReadManifestFile(opts.File)
	if err != nil {
		return err
	}
	rev, changed, err := a.ApplyManifest(ctx, opts.ID, opts.File, data)
	if err != nil {
		return err
	}
	if changed {
		e.status("applied %s as revision %d", opts.File, rev)
	} else {
		e.status("%s is the current revision (%d); nothing changed", opts.File, rev)
	}
	return e.emitResult(func() (any, error) { return docs.ManifestChange(ctx, opts.ID, rev, changed) })
}

func configSetCommand(e *env, runF func(context.Context, *configSetOptions) error) *cli.Command {
	return &cli.Command{
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
when it is invalid. -o json prints the change's document, as POST
/deployments/ID/config answers it.

Examples:
   cloud config set D1BRV40 stacks.app.config.replicas 3
   cloud config set D1BRV40 environments.prod.account_id '"123456789012"'
   cloud config set D1BRV40 stacks.monitoring.enabled false`,
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID", "KEY", "VALUE")
			if err != nil {
				return err
			}
			opts := &configSetOptions{App: e.lazyApp(c), ID: as[0], Key: as[1], Value: as[2]}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.configSetRun(c.Context, opts)
		},
	}
}

func configUnsetCommand(e *env, runF func(context.Context, *configSetOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "unset",
		Usage:     "remove one value of the manifest (a new revision)",
		ArgsUsage: "ID KEY",
		Description: `KEY is a dotted path as for config set. The new manifest is validated
first; nothing is stored when it is invalid or KEY is not set. -o json
prints the change's document, as DELETE /deployments/ID/config/KEY answers
it.

Examples:
   cloud config unset D1BRV40 stacks.app.config.replicas
   cloud config unset D1BRV40 stacks.app.environments.prod.config.replicas`,
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID", "KEY")
			if err != nil {
				return err
			}
			opts := &configSetOptions{App: e.lazyApp(c), ID: as[0], Key: as[1], Unset: true}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.configSetRun(c.Context, opts)
		},
	}
}

// configSetRun sets or unsets one value of the manifest.
func (e *env) configSetRun(ctx context.Context, opts *configSetOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	var rev int
	if opts.Unset {
		rev, err = a.UnsetConfig(ctx, opts.ID, opts.Key)
	} else {
		rev, err = a.SetConfig(ctx, opts.ID, opts.Key, opts.Value)
	}
	if err != nil {
		return err
	}
	if opts.Unset {
		e.status("%s removed (revision %d)", opts.Key, rev)
	} else {
		e.status("%s = %s (revision %d)", opts.Key, opts.Value, rev)
	}
	return e.emitResult(func() (any, error) { return client.NewLocal(a).Documents().ManifestChange(ctx, opts.ID, rev, true) })
}

func configEditCommand(e *env, runF func(context.Context, *configEditOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "edit",
		Usage:     "edit the manifest in $VISUAL or $EDITOR (a new revision)",
		ArgsUsage: "ID",
		Description: `Opens the current manifest in $VISUAL, else $EDITOR, else vi, run by the
shell as git runs it (so EDITOR="code --wait" works). When the editor exits,
the file is validated and stored as a new revision; an unchanged file
stores nothing. An invalid file is not stored: the errors are printed
(file, line, field) and, on a terminal, you can edit it again; otherwise
the command exits 2.

Examples:
   cloud config edit D1BRV40
   EDITOR="code --wait" cloud config edit D1BRV40`,
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			opts := &configEditOptions{App: e.lazyApp(c), ID: as[0],
				Editor: cmp.Or(os.Getenv("VISUAL"), os.Getenv("EDITOR"), "vi")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.configEditRun(c.Context, opts)
		},
	}
}

// configEditRun runs the editor on the manifest and stores the result.
func (e *env) configEditRun(ctx context.Context, opts *configEditOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	return e.editManifest(ctx, a, opts.ID, opts.Editor)
}

// editManifest runs editor on deployment id's current manifest and stores
// the result as a new revision, looping while the file is invalid and
// there is a terminal to ask on.
func (e *env) editManifest(ctx context.Context, a *app.App, id, editor string) error {
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
	for {
		// As git runs it: the shell reads the command, so an editor with
		// arguments or a quoted path works, and the file is one argument.
		cmd := exec.CommandContext(ctx, "sh", "-c", editor+` "$@"`, editor, file)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("editor %s: %w; nothing stored", editor, err)
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
