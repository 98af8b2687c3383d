package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

const (
	wildArn  = "arn:aws:acm:us-east-1:123456789012:certificate/dcba4321-ab12-cd34-ef56-abcdef654321"
	certArn  = "arn:aws:acm:us-east-1:123456789012:certificate/abcd1234-ab12-cd34-ef56-abcdef123456"
	registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com/d1a2b3c4-containers-images-dev-"
)

func config(extra map[string]any) map[string]any {
	c := map[string]any{
		"vpcId":                  "vpc-0abc1234def567890",
		"publicSubnetIds":        []any{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"},
		"privateSubnetIds":       []any{"subnet-0111aaaa2222bbbbc", "subnet-0333cccc4444ddddf"},
		"albSgId":                "sg-0a1b2c3d4e5f60718",
		"ecsSgId":                "sg-0ec52c3d4e5f60718",
		"ecsExecutionRoleArn":    "arn:aws:iam::123456789012:role/exec",
		"ecsTaskRoleArn":         "arn:aws:iam::123456789012:role/task",
		"certificateArn":         certArn,
		"wildcardCertificateArn": wildArn,
		"hostedZoneId":           "Z0123456789ABCDEFGHIJ",
		"domainName":             "example.com",
		"repositoryUrls":         map[string]any{"frontend": registry + "frontend", "backend": registry + "backend", "worker": registry + "worker"},
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestStack_Defaults(t *testing.T) {
	r := awstest.Run(t, Stack, config(nil))

	cl := r.One(t, "aws:ecs/cluster:Cluster", "-cluster")
	if s := cl.Inputs["settings"].([]any)[0].(map[string]any); s["name"] != "containerInsights" || s["value"] != "enabled" {
		t.Errorf("cluster settings = %v, want container insights", s)
	}
	alb := r.One(t, "aws:lb/loadBalancer:LoadBalancer", "-alb")
	if alb.Inputs["internal"] != false || alb.Inputs["enableDeletionProtection"] != true {
		t.Errorf("alb = %v", alb.Inputs)
	}
	if sg := alb.Inputs["securityGroups"].([]any); sg[0] != "sg-0a1b2c3d4e5f60718" {
		t.Errorf("alb security group = %v", sg)
	}
	https := r.One(t, "aws:lb/listener:Listener", "-https")
	if https.Inputs["port"] != 443.0 || https.Inputs["protocol"] != "HTTPS" || https.Inputs["certificateArn"] != wildArn ||
		https.Inputs["sslPolicy"] != "ELBSecurityPolicy-TLS13-1-2-2021-06" {
		t.Errorf("https listener = %v", https.Inputs)
	}
	if extra := r.One(t, "aws:lb/listenerCertificate:ListenerCertificate", "-https-extra-cert"); extra.Inputs["certificateArn"] != certArn {
		t.Errorf("extra certificate = %v, want the apex one", extra.Inputs["certificateArn"])
	}
	if tg := https.Inputs["defaultActions"].([]any)[0].(map[string]any)["targetGroupArn"].(string); !strings.Contains(tg, "-frontend") {
		t.Errorf("default action goes to %v, want the frontend", tg)
	}
	redirect := r.One(t, "aws:lb/listener:Listener", "-http").Inputs["defaultActions"].([]any)[0].(map[string]any)
	if redirect["type"] != "redirect" || redirect["redirect"].(map[string]any)["protocol"] != "HTTPS" {
		t.Errorf("http listener = %v, want a redirect to HTTPS", redirect)
	}
	rule := r.One(t, "aws:lb/listenerRule:ListenerRule", "-backend-rule")
	cond := rule.Inputs["conditions"].([]any)[0].(map[string]any)["pathPattern"].(map[string]any)["values"].([]any)
	if len(cond) != 1 || cond[0] != "/backend/*" {
		t.Errorf("backend rule path = %v", cond)
	}
	if n := len(r.OfType("aws:lb/listenerRule:ListenerRule")); n != 1 {
		t.Errorf("listener rules = %d, want 1 (the default service needs none)", n)
	}

	want := map[string][3]float64{"frontend": {256, 512, 3000}, "backend": {512, 1024, 8080}}
	for name, w := range want {
		td := r.One(t, "aws:ecs/taskDefinition:TaskDefinition", "-"+name+"-task")
		if td.Inputs["cpu"] != jsonNum(w[0]) || td.Inputs["memory"] != jsonNum(w[1]) || td.Inputs["networkMode"] != "awsvpc" {
			t.Errorf("%s: task cpu/memory/network = %v %v %v", name, td.Inputs["cpu"], td.Inputs["memory"], td.Inputs["networkMode"])
		}
		if td.Inputs["executionRoleArn"] != "arn:aws:iam::123456789012:role/exec" || td.Inputs["taskRoleArn"] != "arn:aws:iam::123456789012:role/task" {
			t.Errorf("%s: roles = %v %v", name, td.Inputs["executionRoleArn"], td.Inputs["taskRoleArn"])
		}
		var defs []struct {
			Image            string
			PortMappings     []struct{ ContainerPort float64 }
			LogConfiguration struct {
				Options map[string]string
			}
		}
		if err := json.Unmarshal([]byte(td.Inputs["containerDefinitions"].(string)), &defs); err != nil || len(defs) != 1 {
			t.Fatalf("%s: container definitions: %v", name, err)
		}
		if defs[0].Image != registry+name+":latest" || defs[0].PortMappings[0].ContainerPort != w[2] ||
			defs[0].LogConfiguration.Options["awslogs-group"] != "/cloud/d1a2b3c4-containers-apps-dev-"+name {
			t.Errorf("%s: container = %+v", name, defs[0])
		}
		svc := r.One(t, "aws:ecs/service:Service", "-"+name+"-service")
		nc := svc.Inputs["networkConfiguration"].(map[string]any)
		if nc["assignPublicIp"] != false || nc["securityGroups"].([]any)[0] != "sg-0ec52c3d4e5f60718" || nc["subnets"].([]any)[0] != "subnet-0111aaaa2222bbbbc" {
			t.Errorf("%s: network = %v, want private subnets, the ECS group, no public IP", name, nc)
		}
		if svc.Inputs["desiredCount"] != 2.0 {
			t.Errorf("%s: desiredCount = %v", name, svc.Inputs["desiredCount"])
		}
		if lb := svc.Inputs["loadBalancers"].([]any)[0].(map[string]any); lb["containerPort"] != w[2] || lb["containerName"] != name {
			t.Errorf("%s: load balancer = %v", name, lb)
		}
		if cb := svc.Inputs["deploymentCircuitBreaker"].(map[string]any); cb["enable"] != true || cb["rollback"] != true {
			t.Errorf("%s: circuit breaker = %v", name, cb)
		}
		if svc.Inputs["serviceRegistries"] == nil {
			t.Errorf("%s: no service discovery", name)
		}
		tg := r.One(t, "aws:lb/targetGroup:TargetGroup", "-"+name+"-tg")
		if tg.Inputs["port"] != w[2] || tg.Inputs["targetType"] != "ip" || len(tg.Inputs["name"].(string)) > 32 {
			t.Errorf("%s: target group = %v", name, tg.Inputs)
		}
		st := r.One(t, "aws:appautoscaling/target:Target", "-"+name+"-scaling")
		if st.Inputs["minCapacity"] != 2.0 || st.Inputs["maxCapacity"] != 8.0 ||
			st.Inputs["resourceId"] != "service/d1a2b3c4-containers-apps-dev-cluster/d1a2b3c4-containers-apps-dev-"+name {
			t.Errorf("%s: scaling target = %v", name, st.Inputs)
		}
		pol := r.One(t, "aws:appautoscaling/policy:Policy", "-"+name+"-cpu").Inputs["targetTrackingScalingPolicyConfiguration"].(map[string]any)
		if pol["targetValue"] != 70.0 || pol["predefinedMetricSpecification"].(map[string]any)["predefinedMetricType"] != "ECSServiceAverageCPUUtilization" {
			t.Errorf("%s: scaling policy = %v", name, pol)
		}
	}
	ns := r.One(t, "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", "-namespace")
	if ns.Inputs["vpc"] != "vpc-0abc1234def567890" {
		t.Errorf("namespace vpc = %v", ns.Inputs["vpc"])
	}
	rec := r.One(t, "aws:route53/record:Record", "-dns")
	if rec.Inputs["name"] != "app.example.com" || rec.Inputs["zoneId"] != "Z0123456789ABCDEFGHIJ" || rec.Inputs["type"] != "A" {
		t.Errorf("dns record = %v", rec.Inputs)
	}
	arns := r.Values["serviceArns"].(map[string]string)
	if len(arns) != 2 || arns["frontend"] == "" || arns["backend"] == "" {
		t.Errorf("serviceArns = %v", arns)
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
}

func TestStack_NoAutoScalingWithSpot(t *testing.T) {
	r := awstest.Run(t, Stack, config(map[string]any{
		"enableAutoScaling": false, "enableFargateSpot": true, "subdomain": "",
		"services": map[string]any{"frontend": map[string]any{"cpu": 1024.0, "memory": 4096.0, "desiredCount": 3.0, "port": 80.0}},
	}))
	if n := len(r.OfType("aws:appautoscaling/target:Target")); n != 0 {
		t.Errorf("scaling targets = %d, want 0", n)
	}
	svc := r.One(t, "aws:ecs/service:Service", "-frontend-service")
	strat := svc.Inputs["capacityProviderStrategies"].([]any)
	if len(strat) != 2 || strat[0].(map[string]any)["base"] != 1.0 || strat[1].(map[string]any)["capacityProvider"] != "FARGATE_SPOT" {
		t.Errorf("strategy = %v", strat)
	}
	if rec := r.One(t, "aws:route53/record:Record", "-dns"); rec.Inputs["name"] != "example.com" {
		t.Errorf("apex record = %v", rec.Inputs["name"])
	}
	if c := r.One(t, "aws:lb/listener:Listener", "-https").Inputs["certificateArn"]; c != certArn {
		t.Errorf("apex listener certificate = %v, want the apex one", c)
	}
	r.AssertOutputs(t)
}

func TestStack_BadInputs(t *testing.T) {
	svc := func(spec map[string]any) map[string]any {
		return map[string]any{"services": map[string]any{"frontend": spec}}
	}
	for _, tc := range []struct {
		config map[string]any
		want   string
	}{
		{svc(map[string]any{"cpu": 300.0, "memory": 512.0, "desiredCount": 1.0, "port": 80.0}), "services.frontend.cpu"},
		{svc(map[string]any{"cpu": 256.0, "memory": 4096.0, "desiredCount": 1.0, "port": 80.0}), "services.frontend.memory"},
		{svc(map[string]any{"cpu": 256.0, "memory": 512.0, "desiredCount": 1.0}), "services.frontend.port"},
		{svc(map[string]any{"cpu": 256.0, "memory": 512.0, "desiredCount": 2.0, "port": 80.0, "maxCount": 1.0}), "services.frontend.maxCount"},
		{map[string]any{"services": map[string]any{"admin": map[string]any{"cpu": 256.0, "memory": 512.0, "desiredCount": 1.0, "port": 80.0}}, "defaultService": "admin"}, "repositoryUrls.admin"},
		{map[string]any{"defaultService": "api"}, "defaultService"},
		{map[string]any{"certificateArn": "cert"}, "certificateArn"},
		{map[string]any{"wildcardCertificateArn": ""}, "wildcardCertificateArn"},
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

func jsonNum(f float64) string { b, _ := json.Marshal(f); return string(b) }

// TestTemplateFile keeps template.json, which the library's generated
// templates and docs are made from, in step with the template.
func TestTemplateFile(t *testing.T) { awstest.CheckTemplateFile(t, Stack) }
