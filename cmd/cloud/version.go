package main

import (
	"fmt"
	"io"
	"runtime"

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
			v := map[string]string{"version": version, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH}
			return e.emit(v, func(w io.Writer) { fmt.Fprintf(w, "cloud %s (%s, %s)\n", version, v["go"], v["platform"]) })
		},
	}
}
