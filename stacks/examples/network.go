package examples

import (
	"fmt"

	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Network is a VPC with public and private subnets across availability
// zones.
var Network = kit.Stack{
	Template: protocol.Template{
		Name:        "demo-network",
		Description: "VPC with public and private subnets (example, no provider)",
		Inputs: map[string]protocol.Input{
			"cidr":    {Type: protocol.TypeString, Default: "10.0.0.0/16", Description: "VPC CIDR block"},
			"azCount": {Type: protocol.TypeNumber, Default: 2.0, Description: "availability zones to span"},
			"region":  {Type: protocol.TypeString, Default: "us-east-1", Description: "region the VPC lives in"},
		},
		Outputs: map[string]protocol.Output{
			"vpcId":            out(protocol.TypeString, "VPC identifier"),
			"cidr":             out(protocol.TypeString, "VPC CIDR block"),
			"publicSubnetIds":  out(protocol.TypeArray, "public subnet identifiers"),
			"privateSubnetIds": out(protocol.TypeArray, "private subnet identifiers"),
			"azCount":          out(protocol.TypeNumber, "availability zones spanned"),
		},
	},
	Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
		cidr, azs, region := in.String("cidr"), in.Int("azCount"), in.String("region")
		if azs < 1 || azs > 6 {
			return fmt.Errorf("azCount must be between 1 and 6, got %d", azs)
		}
		vpcID := fakeID("vpc", ctx.Project(), ctx.Stack(), cidr, region)
		vpc, err := newComponent(ctx, "Vpc", resourceName(ctx, "vpc"), pulumi.Map{
			"id": pulumi.String(vpcID), "cidr": pulumi.String(cidr),
		}, nil)
		if err != nil {
			return err
		}
		var public, private pulumi.StringArray
		for i := 0; i < azs; i++ {
			for _, tier := range []string{"public", "private"} {
				id := fakeID("subnet", vpcID, tier, i)
				if _, err := newComponent(ctx, "Subnet", resourceName(ctx, fmt.Sprintf("%s-%d", tier, i)), pulumi.Map{
					"id": pulumi.String(id), "tier": pulumi.String(tier),
				}, vpc); err != nil {
					return err
				}
				if tier == "public" {
					public = append(public, pulumi.String(id))
				} else {
					private = append(private, pulumi.String(id))
				}
			}
		}
		out.Export("vpcId", pulumi.String(vpcID))
		out.Export("cidr", pulumi.String(cidr))
		out.Export("publicSubnetIds", public)
		out.Export("privateSubnetIds", private)
		out.Export("azCount", pulumi.Float64(float64(azs)))
		return nil
	},
}
