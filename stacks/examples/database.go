package examples

import (
	"fmt"

	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Database is a relational database in the private subnets.
var Database = kit.Stack{
	Template: protocol.Template{
		Name:         "demo-database",
		Description:  "PostgreSQL database in private subnets (example, no provider)",
		Dependencies: []string{"network", "security"},
		Inputs: map[string]protocol.Input{
			"subnetIds":       {Type: protocol.TypeArray, Required: true, Description: "private subnets to place the database in"},
			"securityGroupId": {Type: protocol.TypeString, Required: true, Description: "security group of the database"},
			"kmsKeyId":        {Type: protocol.TypeString, Required: true, Description: "key to encrypt storage with"},
			"engineVersion":   {Type: protocol.TypeString, Default: "16.4", Description: "PostgreSQL version"},
			"instanceClass":   {Type: protocol.TypeString, Default: "db.t4g.micro", Description: "instance class"},
			"password":        {Type: protocol.TypeString, Secret: true, Default: "change-me", Description: "master password"},
		},
		Outputs: map[string]protocol.Output{
			"endpoint": out(protocol.TypeString, "host name of the database"),
			"port":     out(protocol.TypeNumber, "port of the database"),
			"username": out(protocol.TypeString, "master user name"),
			"password": {Type: protocol.TypeString, Secret: true, Description: "master password"},
		},
	},
	Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
		subnets := in.StringList("subnetIds")
		sg, key := in.String("securityGroupId"), in.String("kmsKeyId")
		version, class := in.String("engineVersion"), in.String("instanceClass")
		if len(subnets) == 0 {
			return fmt.Errorf("subnetIds is empty: a database needs at least one subnet")
		}
		group, err := newComponent(ctx, "SubnetGroup", resourceName(ctx, "subnets"), pulumi.Map{
			"subnetIds": pulumi.ToStringArray(subnets),
		}, nil)
		if err != nil {
			return err
		}
		endpoint := fakeID("db", ctx.Project(), ctx.Stack(), version) + ".example.internal"
		if _, err := newComponent(ctx, "DbInstance", resourceName(ctx, "db"), pulumi.Map{
			"endpoint": pulumi.String(endpoint), "engineVersion": pulumi.String(version),
			"instanceClass": pulumi.String(class), "securityGroupId": pulumi.String(sg),
			"kmsKeyId": pulumi.String(key), "password": in.Secret("password"),
		}, group); err != nil {
			return err
		}
		out.Export("endpoint", pulumi.String(endpoint))
		out.Export("port", pulumi.Float64(5432))
		out.Export("username", pulumi.String("app"))
		out.Export("password", in.Secret("password"))
		return nil
	},
}
