package examples

import (
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Monitoring watches the app: a dashboard and alarms.
var Monitoring = kit.Stack{
	Template: protocol.Template{
		Name:         "demo-monitoring",
		Description:  "dashboard and alarms for the app (example, no provider)",
		Dependencies: []string{"app"},
		Inputs: map[string]protocol.Input{
			"serviceName": {Type: protocol.TypeString, Required: true, Description: "service to watch"},
			"url":         {Type: protocol.TypeString, Required: true, Description: "URL to probe"},
			"alarmEmail":  {Type: protocol.TypeString, Default: "ops@example.com", Description: "where alarms go"},
		},
		Outputs: map[string]protocol.Output{
			"dashboardUrl": out(protocol.TypeString, "dashboard URL"),
			"alarmCount":   out(protocol.TypeNumber, "alarms created"),
		},
	},
	Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
		svc, url, email := in.String("serviceName"), in.String("url"), in.String("alarmEmail")
		dash, err := newComponent(ctx, "Dashboard", resourceName(ctx, "dashboard"), pulumi.Map{
			"service": pulumi.String(svc),
		}, nil)
		if err != nil {
			return err
		}
		alarms := []string{"errors", "latency", "health"}
		for _, a := range alarms {
			if _, err := newComponent(ctx, "Alarm", resourceName(ctx, a), pulumi.Map{
				"target": pulumi.String(url), "notify": pulumi.String(email),
			}, dash); err != nil {
				return err
			}
		}
		out.Export("dashboardUrl", pulumi.String("https://monitoring.example.internal/d/"+svc))
		out.Export("alarmCount", pulumi.Float64(float64(len(alarms))))
		return nil
	},
}
