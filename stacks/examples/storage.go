package examples

import (
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Storage is an encrypted object bucket.
var Storage = kit.Stack{
	Template: protocol.Template{
		Name:         "demo-storage",
		Description:  "encrypted object bucket (example, no provider)",
		Dependencies: []string{"security"},
		Inputs: map[string]protocol.Input{
			"kmsKeyId":   {Type: protocol.TypeString, Required: true, Description: "key to encrypt objects with"},
			"versioning": {Type: protocol.TypeBoolean, Default: true, Description: "keep object versions"},
		},
		Outputs: map[string]protocol.Output{
			"bucketName": out(protocol.TypeString, "bucket name"),
			"bucketArn":  out(protocol.TypeString, "bucket ARN"),
		},
	},
	Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
		key, versioning := in.String("kmsKeyId"), in.Bool("versioning")
		name := resourceName(ctx, "assets")
		if _, err := newComponent(ctx, "Bucket", name, pulumi.Map{
			"kmsKeyId": pulumi.String(key), "versioning": pulumi.Bool(versioning),
		}, nil); err != nil {
			return err
		}
		out.Export("bucketName", pulumi.String(name))
		out.Export("bucketArn", pulumi.String("arn:aws:s3:::"+name))
		return nil
	},
}
