package main

// cloud graph: options, and the plan's graph printed as text, DOT or the plan's document.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/urfave/cli/v2"
)

// graphOptions are what `cloud graph` runs with.
type graphOptions struct {
	App func() (*app.App, error)
	ID  string
	Env string
	// Format is text, dot or json.
	Format string
}

func graphCommand(e *env, runF func(context.Context, *graphOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "graph",
		Usage: "show the dependency graph of a deployment (text, dot, or the plan document as json)",
		Description: `Prints the dependency graph of the enabled stacks of an environment by
layer. In dot, dependencies that come only from placeholders are dashed.

Examples:
   cloud graph D1BRV40 -e dev
   cloud graph D1BRV40 --format dot | dot -Tsvg > graph.svg
   cloud graph D1BRV40 --format json`,
		ArgsUsage: "ID",
		Flags: []cli.Flag{
			envFlag(),
			&cli.StringFlag{Name: "format", Usage: "text, dot or json", Value: "text"},
		},
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			opts := &graphOptions{App: e.lazyApp(c), ID: as[0], Env: c.String("env"), Format: c.String("format")}
			switch opts.Format {
			case "text", "dot", "json":
			default:
				return usageError("--format must be text, dot or json")
			}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.graphRun(c.Context, opts)
		},
	}
}

// graphRun prints the graph of the plan of an environment: the plan's
// document (as REST's GET …/plan) with --format json or -o json|yaml.
func (e *env) graphRun(ctx context.Context, opts *graphOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	p, err := client.NewLocal(a).Documents().Plan(ctx, opts.ID, opts.Env)
	if err != nil {
		return err
	}
	switch {
	case opts.Format == "json":
		e.output = "json"
		return e.emit(p, nil)
	case e.output != "table":
		return e.emit(p, nil)
	case opts.Format == "dot":
		var b strings.Builder
		fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box];\n", opts.ID+"-"+p.Environment)
		for i, layer := range p.Layers {
			fmt.Fprintf(&b, "  { rank=same; /* layer %d */", i)
			for _, n := range layer {
				fmt.Fprintf(&b, " %q;", n)
			}
			b.WriteString(" }\n")
		}
		for _, n := range p.Stacks {
			for _, d := range n.Dependencies {
				style := ""
				if slices.Contains(n.Implicit, d) {
					style = " [style=dashed]"
				}
				fmt.Fprintf(&b, "  %q -> %q%s;\n", d, n.Name, style)
			}
		}
		b.WriteString("}\n")
		_, err := io.WriteString(e.io.Out, b.String())
		return err
	}
	deps := map[string][]string{}
	for _, s := range p.Stacks {
		deps[s.Name] = s.Dependencies
	}
	for i, layer := range p.Layers {
		fmt.Fprintf(e.io.Out, "layer %d\n", i)
		for _, n := range layer {
			if len(deps[n]) == 0 {
				fmt.Fprintf(e.io.Out, "  %s\n", n)
			} else {
				fmt.Fprintf(e.io.Out, "  %s <- %s\n", n, strings.Join(deps[n], ", "))
			}
		}
	}
	return nil
}
