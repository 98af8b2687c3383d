package main

// cloud version.

import (
	"fmt"
	"io"

	"github.com/cloudplatform/cloud/app"
	"github.com/urfave/cli/v2"
)

func versionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version of cloud",
		Description: `Prints the version (` + "`git describe`" + ` of the build, or dev), the Go version and the platform.

Examples:
   cloud version
   cloud version -o json`,
		Action: func(c *cli.Context) error {
			// The same build info GraphQL's version and REST's /version
			// answer; the version needs no home.
			b := app.Build(version)
			v := map[string]string{"version": b.Version, "go": b.Go, "platform": b.Platform}
			return e.emit(v, func(w io.Writer) { fmt.Fprintf(w, "cloud %s (%s, %s)\n", b.Version, b.Go, b.Platform) })
		},
	}
}
