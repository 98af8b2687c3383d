package examples

import (
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Security holds the security groups and the encryption key of a VPC.
var Security = kit.Stack{
	Template: protocol.Template{
		Name:         "demo-security",
		Description:  "security groups and a KMS key for a VPC (example, no provider)",
		Dependencies: []string{"network"},
		Inputs: map[string]protocol.Input{
			"vpcId":        {Type: protocol.TypeString, Required: true, Description: "VPC the groups belong to"},
			"allowedCidrs": {Type: protocol.TypeArray, Default: []any{"0.0.0.0/0"}, Description: "CIDRs allowed to reach the app"},
		},
		Outputs: map[string]protocol.Output{
			"appSecurityGroupId": out(protocol.TypeString, "security group of the app tier"),
			"dbSecurityGroupId":  out(protocol.TypeString, "security group of the database tier"),
			"kmsKeyId":           out(protocol.TypeString, "KMS key for encryption at rest"),
		},
	},
	Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
		vpcID, cidrs := in.String("vpcId"), in.StringList("allowedCidrs")
		app := fakeID("sg", vpcID, "app", cidrs)
		db := fakeID("sg", vpcID, "db")
		key := fakeID("key", ctx.Project(), ctx.Stack())
		for purpose, id := range map[string]string{"app-sg": app, "db-sg": db, "kms": key} {
			if _, err := newComponent(ctx, "SecurityGroup", resourceName(ctx, purpose), pulumi.Map{
				"id": pulumi.String(id), "vpcId": pulumi.String(vpcID),
			}, nil); err != nil {
				return err
			}
		}
		out.Export("appSecurityGroupId", pulumi.String(app))
		out.Export("dbSecurityGroupId", pulumi.String(db))
		out.Export("kmsKeyId", pulumi.String(key))
		return nil
	},
}
