package examples

import (
	"fmt"

	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// App is a containerised service using the database and the bucket.
var App = kit.Stack{
	Template: protocol.Template{
		Name:         "demo-app",
		Description:  "containerised service behind a load balancer (example, no provider)",
		Dependencies: []string{"database", "storage"},
		Inputs: map[string]protocol.Input{
			"dbEndpoint":      {Type: protocol.TypeString, Required: true, Description: "database host"},
			"dbPort":          {Type: protocol.TypeNumber, Default: 5432.0, Description: "database port"},
			"bucketName":      {Type: protocol.TypeString, Required: true, Description: "bucket for assets"},
			"securityGroupId": {Type: protocol.TypeString, Required: true, Description: "security group of the service"},
			"image":           {Type: protocol.TypeString, Default: "nginx:1.27", Description: "container image"},
			"replicas":        {Type: protocol.TypeNumber, Default: 2.0, Description: "tasks to run"},
			"domain":          {Type: protocol.TypeString, Description: "public domain of the service"},
		},
		Outputs: map[string]protocol.Output{
			"url":         out(protocol.TypeString, "public URL"),
			"serviceName": out(protocol.TypeString, "service name"),
			"dbEndpoint":  out(protocol.TypeString, "database host the service uses"),
			"bucketName":  out(protocol.TypeString, "bucket the service uses"),
			"replicas":    out(protocol.TypeNumber, "tasks running"),
		},
	},
	Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
		db, port := in.String("dbEndpoint"), in.Int("dbPort")
		bucket, sg := in.String("bucketName"), in.String("securityGroupId")
		image, replicas, domain := in.String("image"), in.Int("replicas"), in.String("domain")
		name := resourceName(ctx, "svc")
		lb, err := newComponent(ctx, "LoadBalancer", resourceName(ctx, "lb"), pulumi.Map{
			"securityGroupId": pulumi.String(sg),
		}, nil)
		if err != nil {
			return err
		}
		if _, err := newComponent(ctx, "Service", name, pulumi.Map{
			"image": pulumi.String(image), "replicas": pulumi.Int(replicas),
			"database": pulumi.String(fmt.Sprintf("%s:%d", db, port)), "bucket": pulumi.String(bucket),
		}, lb); err != nil {
			return err
		}
		host := domain
		if host == "" {
			host = name + ".example.internal"
		}
		out.Export("url", pulumi.String("https://"+host))
		out.Export("serviceName", pulumi.String(name))
		out.Export("dbEndpoint", pulumi.String(db))
		out.Export("bucketName", pulumi.String(bucket))
		out.Export("replicas", pulumi.Float64(float64(replicas)))
		return nil
	},
}
