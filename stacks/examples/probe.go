package examples

import (
	"errors"
	"fmt"
	"time"

	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Probe is a generic stack driven by its config: how many component
// resources it creates, how long it takes and whether it fails. It echoes
// every input it received as an output of the same name, so any graph can be
// built from probes and the values passed along it can be checked.
var Probe = kit.Stack{
	Template: protocol.Template{
		Name:        "probe",
		Description: "generic test stack: resources, delay and failure driven by config; echoes its inputs",
		AnyInputs:   true,
		Inputs: map[string]protocol.Input{
			"resources":    {Type: protocol.TypeNumber, Default: 1.0, Description: "component resources to create"},
			"delaySeconds": {Type: protocol.TypeNumber, Default: 0.0, Description: "how long the program takes"},
			"fail":         {Type: protocol.TypeBoolean, Default: false, Description: "fail the run"},
			"failMessage":  {Type: protocol.TypeString, Default: "probe failed as configured", Description: "error of a failing run"},
		},
		Outputs: map[string]protocol.Output{
			"resourceCount": out(protocol.TypeNumber, "component resources created"),
		},
	},
	Program: func(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
		n, delay := in.Int("resources"), in.Number("delaySeconds")
		fail, msg := in.Bool("fail"), in.String("failMessage")
		if n < 0 || n > 10000 {
			return fmt.Errorf("resources must be between 0 and 10000, got %d", n)
		}
		if delay > 0 {
			select {
			case <-time.After(time.Duration(delay * float64(time.Second))):
			case <-ctx.Context().Done():
				return ctx.Context().Err()
			case <-in.Done(): // cancelled: Pulumi would wait for the delay
				return errors.New("cancelled during the delay")
			}
		}
		if fail {
			return errors.New(msg)
		}
		for i := 0; i < n; i++ {
			if _, err := newComponent(ctx, "Probe", fmt.Sprintf("%s-r%d", ctx.Stack(), i), pulumi.Map{
				"index": pulumi.Int(i),
			}, nil); err != nil {
				return err
			}
		}
		for _, k := range in.Keys() {
			v, _ := in.Read(k)
			var val pulumi.Input = pulumi.Any(v.Value)
			if v.Secret {
				val = pulumi.ToSecret(val)
			}
			out.Export(k, val)
		}
		out.Export("resourceCount", pulumi.Float64(float64(n)))
		return nil
	},
}
