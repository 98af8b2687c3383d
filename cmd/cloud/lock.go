package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

func lockCommand(e *env) *cli.Command {
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
		Action: func(c *cli.Context) error {
			a, as, err := e.start(c, "ID")
			if err != nil {
				return err
			}
			env := c.String("env")
			if c.Bool("status") {
				holder, err := a.LockStatus(c.Context, as[0], env)
				if err != nil {
					return err
				}
				return e.emit(map[string]any{"locked": holder != nil, "holder": holder}, func(w io.Writer) {
					if holder == nil {
						fmt.Fprintf(w, "%s of %s is free\n", env, as[0])
						return
					}
					fmt.Fprintf(w, "%s of %s is held by %s %s of %s on %s since %s", env, as[0], holder.Kind, holder.ID,
						holder.Actor, holder.Host, ts(holder.StartedAt))
					if r, _ := holder.Flags["reason"].(string); r != "" {
						fmt.Fprintf(w, ": %s", r)
					}
					fmt.Fprintln(w)
				})
			}
			op, err := a.Lock(c.Context, as[0], env, c.String("reason"))
			if err != nil {
				return err
			}
			e.status("locked %s of %s (%s); release it with: cloud unlock %s -e %s", env, as[0], op.ID, as[0], env)
			return nil
		},
	}
}

func unlockCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "unlock",
		Usage:     "release a manual lock; --force breaks one held by an operation of another machine",
		ArgsUsage: "ID",
		Description: `A running operation of this machine is never broken: cancel it instead.
An operation recorded by another machine that is gone for good can be
broken with --force: it is marked interrupted.

Examples:
   cloud unlock D1BRV40 -e prod
   cloud unlock D1BRV40 -e prod --force`,
		Flags: []cli.Flag{
			envFlag(),
			&cli.BoolFlag{Name: "force", Usage: "break a lock held by another machine's operation"},
		},
		Action: func(c *cli.Context) error {
			a, as, err := e.start(c, "ID")
			if err != nil {
				return err
			}
			holder, err := a.Unlock(c.Context, as[0], c.String("env"), c.Bool("force"))
			if err != nil {
				return err
			}
			e.status("released %s (%s of %s)", holder.ID, holder.Kind, holder.Actor)
			return nil
		},
	}
}
