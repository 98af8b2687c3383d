package main

import (
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

const keyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func config(extra map[string]any) map[string]any {
	c := map[string]any{"applicationKeyArn": keyArn}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestStack_Defaults(t *testing.T) {
	r := awstest.Run(t, Stack, config(nil))

	cl := r.One(t, "aws:ecs/cluster:Cluster", "-cluster")
	if got, want := cl.Inputs["name"], "d1a2b3c4-services-ecs-dev-cluster"; got != want {
		t.Errorf("cluster name = %v, want %v", got, want)
	}
	settings, _ := cl.Inputs["settings"].([]any)
	if len(settings) != 1 || settings[0].(map[string]any)["name"] != "containerInsights" || settings[0].(map[string]any)["value"] != "enabled" {
		t.Errorf("cluster settings = %v, want containerInsights enabled", settings)
	}
	exec := cl.Inputs["configuration"].(map[string]any)["executeCommandConfiguration"].(map[string]any)
	if exec["kmsKeyId"] != keyArn || exec["logging"] != "OVERRIDE" {
		t.Errorf("execute command configuration = %v, want the application key and OVERRIDE logging", exec)
	}
	lg := r.One(t, "aws:cloudwatch/logGroup:LogGroup", "-exec-logs")
	if lg.Inputs["name"] != "/cloud/d1a2b3c4-services-ecs-dev-exec" || lg.Inputs["retentionInDays"] != 30.0 {
		t.Errorf("log group = %v, want /cloud/… with 30 days", lg.Inputs)
	}
	if got := exec["logConfiguration"].(map[string]any)["cloudWatchLogGroupName"]; got != lg.Inputs["name"] {
		t.Errorf("exec logs go to %v, want %v", got, lg.Inputs["name"])
	}

	cp := r.One(t, "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "-capacity")
	if got := cp.Inputs["capacityProviders"].([]any); len(got) != 2 || got[0] != "FARGATE" || got[1] != "FARGATE_SPOT" {
		t.Errorf("capacity providers = %v", got)
	}
	strategy := cp.Inputs["defaultCapacityProviderStrategies"].([]any)
	if len(strategy) != 2 {
		t.Fatalf("strategy = %v, want two entries", strategy)
	}
	od, sp := strategy[0].(map[string]any), strategy[1].(map[string]any)
	if od["capacityProvider"] != "FARGATE" || od["base"] != 1.0 || od["weight"] != 1.0 {
		t.Errorf("on-demand strategy = %v, want base 1 weight 1", od)
	}
	if sp["capacityProvider"] != "FARGATE_SPOT" || sp["weight"] != 3.0 || sp["base"] != nil {
		t.Errorf("spot strategy = %v, want weight 3 and no base", sp)
	}
	if got, want := r.Values["clusterName"], "d1a2b3c4-services-ecs-dev-cluster"; got != want {
		t.Errorf("clusterName = %v, want %v", got, want)
	}
	if got := r.Values["capacityProviders"].([]string); len(got) != 2 {
		t.Errorf("capacityProviders output = %v", got)
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
}

func TestStack_OnDemandOnly(t *testing.T) {
	r := awstest.Run(t, Stack, config(map[string]any{"enableFargateSpot": false, "fargateBase": 2.0, "containerInsights": "enhanced"}))
	cp := r.One(t, "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "-capacity")
	strategy := cp.Inputs["defaultCapacityProviderStrategies"].([]any)
	if len(strategy) != 1 || strategy[0].(map[string]any)["base"] != 2.0 {
		t.Errorf("strategy = %v, want FARGATE alone with base 2", strategy)
	}
	if got := r.Values["capacityProviders"].([]string); len(got) != 1 || got[0] != "FARGATE" {
		t.Errorf("capacityProviders = %v, want [FARGATE]", got)
	}
	cl := r.One(t, "aws:ecs/cluster:Cluster", "-cluster")
	if v := cl.Inputs["settings"].([]any)[0].(map[string]any)["value"]; v != "enhanced" {
		t.Errorf("containerInsights = %v, want enhanced", v)
	}
	r.AssertOutputs(t)
}

func TestStack_BadInputs(t *testing.T) {
	for _, tc := range []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"fargateBase": -1.0}, "fargateBase"},
		{map[string]any{"fargateSpotWeight": 2000.0}, "fargateSpotWeight"},
		{map[string]any{"fargateWeight": 0.0, "fargateSpotWeight": 0.0}, "fargateWeight"},
		{map[string]any{"containerInsights": "on"}, "containerInsights"},
		{map[string]any{"logRetentionDays": 10.0}, "logRetentionDays"},
		{map[string]any{"fargateBase": "one"}, "fargateBase"},
	} {
		r := awstest.RunErr(t, Stack, config(tc.config))
		if !strings.Contains(r.Validation.Error, tc.want) {
			t.Errorf("config %v: error = %q, want it to name %s", tc.config, r.Validation.Error, tc.want)
		}
	}
}

func TestStack_Validate(t *testing.T) {
	awstest.AssertValidates(t, Stack)
}

// TestTemplateFile keeps template.json, which the library's generated
// templates and docs are made from, in step with the template.
func TestTemplateFile(t *testing.T) { awstest.CheckTemplateFile(t, Stack) }
