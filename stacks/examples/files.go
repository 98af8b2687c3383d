package examples

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// localFile is a file managed by the localfile provider (providers/localfile):
// a real resource outside Pulumi's state, so edits made by hand show up as
// drift.
type localFile struct {
	pulumi.CustomResourceState
	Path   pulumi.StringOutput `pulumi:"path"`
	SHA256 pulumi.StringOutput `pulumi:"sha256"`
}

// Files writes files into a directory: a site, a config bundle — things a
// user can look at and change by hand. It needs the pulumi-resource-localfile
// provider (tools/install/providers.sh).
var Files = kit.Stack{
	Template: protocol.Template{
		Name:        "files",
		Description: "files in a local directory, managed by the localfile provider (drift shows hand edits)",
		Inputs: map[string]protocol.Input{
			"directory": {Type: protocol.TypeString, Required: true, Description: "absolute directory to write into"},
			"files":     {Type: protocol.TypeObject, Required: true, Description: "file name → content"},
		},
		Outputs: map[string]protocol.Output{
			"directory": out(protocol.TypeString, "the directory"),
			"paths":     out(protocol.TypeArray, "absolute paths of the files"),
			"count":     out(protocol.TypeNumber, "how many files"),
		},
	},
	Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
		dir := in.String("directory")
		files, ok := in.Any("files").(map[string]any)
		if !ok {
			return fmt.Errorf("input files: want a map of file name to content")
		}
		if !filepath.IsAbs(dir) {
			return fmt.Errorf("input directory: %q is not an absolute path", dir)
		}
		names := make([]string, 0, len(files))
		for n := range files {
			names = append(names, n)
		}
		sort.Strings(names)
		var paths pulumi.StringArray
		for _, n := range names {
			content, ok := files[n].(string)
			if !ok {
				return fmt.Errorf("input files.%s: want text, got %T", n, files[n])
			}
			var f localFile
			if err := ctx.RegisterResource("localfile:index:File", n, pulumi.Map{
				"path": pulumi.String(filepath.Join(dir, n)), "content": pulumi.String(content),
			}, &f); err != nil {
				return err
			}
			paths = append(paths, f.Path)
		}
		out.Export("directory", pulumi.String(dir))
		out.Export("paths", paths)
		out.Export("count", pulumi.Float64(float64(len(names))))
		return nil
	},
}
