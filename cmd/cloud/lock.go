package main

// cloud lock and cloud unlock: options, flag wiring and printers; locks are the core's.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/document"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/human"

	"github.com/urfave/cli/v2"
)

// lockOptions are what `cloud lock` runs with.
type lockOptions struct {
	App    func() (*app.App, error)
	Now    func() time.Time
	ID     string
	Env    string
	Reason string
	// Status only shows who holds the environment.
	Status bool
}

func lockCommand(e *env, runF func(context.Context, *lockOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "lock",
		Usage:     "lock an environment (a change freeze), or show who holds it",
		ArgsUsage: "ID",
		Description: `Every operation holds its deployment's environment while it runs; a manual
lock holds it until unlock, so deploys, destroys and rollbacks there are
refused with its holder and reason. --status shows the holder, if any.

Examples:
   cloud lock D1BRV40 -e prod --reason "release freeze until Monday"
   cloud lock D1BRV40 -e prod --status`,
		Flags: []cli.Flag{
			envFlag(),
			&cli.StringFlag{Name: "reason", Usage: "why, shown to whoever is refused"},
			&cli.BoolFlag{Name: "status", Usage: "only show who holds it"},
		},
		Subcommands: []*cli.Command{lockStatusCommand(e, nil)},
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			opts := &lockOptions{App: e.lazyApp(c), Now: time.Now, ID: as[0], Env: c.String("env"),
				Reason: c.String("reason"), Status: c.Bool("status")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.lockRun(c.Context, opts)
		},
	}
}

// lockRun takes a manual lock, or with Status shows who holds it.
func (e *env) lockRun(ctx context.Context, opts *lockOptions) error {
	if opts.Status {
		return e.lockStatusRun(ctx, &lockStatusOptions{App: opts.App, Now: opts.Now, ID: opts.ID, Env: opts.Env})
	}
	a, err := opts.App()
	if err != nil {
		return err
	}
	op, err := a.Lock(ctx, opts.ID, opts.Env, opts.Reason)
	if err != nil {
		return err
	}
	e.status("locked %s of %s (%s); release it with: cloud unlock %s -e %s", opts.Env, opts.ID, op.ID, opts.ID, opts.Env)
	return nil
}

// unlockOptions are what `cloud unlock` runs with.
type unlockOptions struct {
	App func() (*app.App, error)
	ID  string
	Env string
	// Force breaks a lock of another machine's operation and the team lock.
	Force bool
	// Engine is the stack whose Pulumi engine lock is cleared ("" none).
	Engine string
}

func unlockCommand(e *env, runF func(context.Context, *unlockOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "unlock",
		Usage:     "release a manual lock; --force breaks one held by an operation of another machine; --engine clears a stack's Pulumi lock",
		ArgsUsage: "ID",
		Description: `A running operation of this machine is never broken: cancel it instead.
An operation recorded by another machine that is gone for good can be
broken with --force: it is marked interrupted. When sync is configured,
--force also breaks the team lock (the lease in the sync table) whoever
holds it, and says whose it was.

--engine STACK clears the Pulumi engine's own lock on one stack (pulumi
cancel), after confirmation. cloud clears by itself, before a stack runs,
a lock whose engine was a process of this machine that is gone; --engine
is for the rest: an engine of another machine, or a backend that is not a
local directory. Be sure no engine still runs that stack.

Examples:
   cloud unlock D1BRV40 -e prod
   cloud unlock D1BRV40 -e prod --force
   cloud unlock D1BRV40 -e prod --engine database`,
		Flags: []cli.Flag{
			envFlag(),
			&cli.BoolFlag{Name: "force", Usage: "break a lock held by another machine's operation, and the team lock"},
			&cli.StringFlag{Name: "engine", Usage: "clear the Pulumi engine's lock on `STACK` (pulumi cancel), after confirmation"},
		},
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			opts := &unlockOptions{App: e.lazyApp(c), ID: as[0], Env: c.String("env"), Force: c.Bool("force"), Engine: c.String("engine")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.unlockRun(c.Context, opts)
		},
	}
}

// unlockRun releases a lock, or clears a stack's engine lock.
func (e *env) unlockRun(ctx context.Context, opts *unlockOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	env, id := opts.Env, opts.ID
	if stack := opts.Engine; stack != "" {
		if err := e.confirm(fmt.Sprintf("Clear the Pulumi engine's lock on stack %s in %s of %s? An engine still running it would then race another.", stack, env, id)); err != nil {
			return err
		}
		l, err := a.ClearEngineLock(ctx, id, env, stack)
		if err != nil {
			return err
		}
		e.status("cleared the Pulumi engine's lock on %s (%s): %s", stack, l.PulumiStack, l.Output)
		return nil
	}
	var broken *app.TeamLease
	if opts.Force {
		// The team lease first: a holder that died on another
		// machine holds it until its lease lapses. History says
		// who broke whose lease, here and (through sync) on every
		// replica.
		broken, err = a.BreakTeamLock(ctx, id, env)
		if app.IsNotRecorded(err) {
			e.status("warning: %v", err)
		} else if err != nil {
			return err
		}
		if broken != nil {
			e.status("%s broke the team lock of %s of %s: it was held by %s (%s) since %s, lease until %s, token %d",
				a.Actor(), env, id, broken.Holder, broken.Info, human.DateTime(broken.Acquired), human.DateTime(broken.Expires), broken.Token)
		}
	}
	holder, err := a.Unlock(ctx, id, env, opts.Force)
	var ue *app.UsageError
	if broken != nil && errors.As(err, &ue) && holder == nil {
		return nil // only the team lock was held
	}
	if err != nil {
		return err
	}
	e.status("released %s (%s of %s)", holder.ID, holder.Kind, holder.Actor)
	return nil
}

// lockStatusOptions are what `cloud lock status` (and `cloud lock
// --status`) run with.
type lockStatusOptions struct {
	App func() (*app.App, error)
	// Now tells whether a team lease has expired.
	Now func() time.Time
	ID  string
	Env string
	// Team also shows the team lease (cloud lock status).
	Team bool
}

func lockStatusCommand(e *env, runF func(context.Context, *lockStatusOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show who holds an environment: the team lock (when sync is configured) and this machine's record",
		ArgsUsage: "ID",
		Description: `The team lock is a lease in the sync table that deploys, destroys and
rollbacks take: its holder (replica/user@host), why, since when, until when
it lapses unless renewed, and its fencing token. Below it, the operation or
manual lock this machine's database records as holding the environment.

Examples:
   cloud lock status D1BRV40 -e prod
   cloud lock status D1BRV40 -e prod -o json`,
		Flags: []cli.Flag{envFlag()},
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			opts := &lockStatusOptions{App: e.lazyApp(c), Now: time.Now, ID: as[0], Env: c.String("env"), Team: true}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.lockStatusRun(c.Context, opts)
		},
	}
}

// lockStatusRun shows the local holder of an environment and, with Team,
// the team lease.
func (e *env) lockStatusRun(ctx context.Context, opts *lockStatusOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	id, env, team := opts.ID, opts.Env, opts.Team
	holder, err := a.LockStatus(ctx, id, env)
	if err != nil {
		return err
	}
	// -o json and yaml print the documents REST serves: the lock's (GET
	// …/lock) with, for lock status, the team lock's (GET …/team-lock).
	docs := client.NewLocal(a).Documents()
	lock, err := docs.Lock(ctx, id, env)
	if err != nil {
		return err
	}
	var doc any = lock
	var lease *app.TeamLease
	configured := false
	if team {
		tl, err := a.TeamLockStatus(ctx, id, env)
		if err != nil {
			return err
		}
		lease, configured = tl.Lease, tl.Configured
		teamDoc, err := docs.TeamLock(ctx, id, env)
		if err != nil {
			return err
		}
		doc = struct {
			*document.LockState
			Team *model.TeamLock `json:"team"`
		}{lock, teamDoc}
	}
	return e.emit(doc, func(w io.Writer) {
		if team {
			switch {
			case !configured:
				fmt.Fprintf(w, "team lock: none (sync is not configured, or offline)\n")
			case lease == nil:
				fmt.Fprintf(w, "team lock: free\n")
			default:
				fmt.Fprintf(w, "team lock: held by %s", lease.Holder)
				if lease.Info != "" {
					fmt.Fprintf(w, " (%s)", lease.Info)
				}
				fmt.Fprintf(w, " since %s, lease until %s, token %d", human.DateTime(lease.Acquired), human.DateTime(lease.Expires), lease.Token)
				if lease.Expired(opts.Now()) {
					fmt.Fprintf(w, " (expired: free to take)")
				}
				fmt.Fprintln(w)
			}
		}
		if holder == nil {
			fmt.Fprintf(w, "%s of %s is free\n", env, id)
			return
		}
		fmt.Fprintf(w, "%s of %s is held by %s %s of %s on %s since %s", env, id, holder.Kind, holder.ID,
			holder.Actor, holder.Host, human.DateTime(holder.StartedAt))
		if r, _ := holder.Flags["reason"].(string); r != "" {
			fmt.Fprintf(w, ": %s", r)
		}
		fmt.Fprintln(w)
	})
}
