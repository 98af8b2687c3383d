// Command missingoutput is a deliberately broken stack for the registry tests.
package main

import (
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	kit.Main(kit.Stack{
		Template: protocol.Template{
			Name:   "missingoutput",
			Inputs: map[string]protocol.Input{"region": {Type: protocol.TypeString, Required: true}},
			Outputs: map[string]protocol.Output{
				"id":  {Type: protocol.TypeString},
				"arn": {Type: protocol.TypeString},
			},
		},
		Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
			_ = in.String("region")
			out.Export("id", pulumi.String("x")) // "arn" is declared but never exported
			return nil
		},
	})
}
