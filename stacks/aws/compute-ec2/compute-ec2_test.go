package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

const certArn = "arn:aws:acm:us-east-1:123456789012:certificate/abcd1234-ab12-cd34-ef56-abcdef123456"

func config(extra map[string]any) map[string]any {
	c := map[string]any{
		"vpcId":               "vpc-0abc1234def567890",
		"publicSubnetIds":     []any{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"},
		"privateSubnetIds":    []any{"subnet-0111aaaa2222bbbbc", "subnet-0333cccc4444ddddf"},
		"albSgId":             "sg-0a1b2c3d4e5f60718",
		"webSgId":             "sg-0f1e2d3c4b5a69788",
		"artifactsBucketName": "d1a2b3c4-storage-dev-artifacts",
		"efsId":               "fs-0123456789abcdef0",
		"logsBucketName":      "d1a2b3c4-storage-dev-logs",
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestStack_WithCertificate(t *testing.T) {
	r := awstest.Run(t, Stack, config(map[string]any{"certificateArn": certArn}))

	alb := r.One(t, "aws:lb/loadBalancer:LoadBalancer", "-alb")
	if alb.Inputs["internal"] != false || alb.Inputs["enableDeletionProtection"] != true || alb.Inputs["dropInvalidHeaderFields"] != true {
		t.Errorf("alb = %v, want internet-facing, protected, dropping invalid headers", alb.Inputs)
	}
	if sg := alb.Inputs["securityGroups"].([]any); len(sg) != 1 || sg[0] != "sg-0a1b2c3d4e5f60718" {
		t.Errorf("alb security groups = %v", sg)
	}
	if sn := alb.Inputs["subnets"].([]any); len(sn) != 2 || sn[0] != "subnet-0aaa1111bbbb2222c" {
		t.Errorf("alb subnets = %v, want the public ones", sn)
	}
	if al := alb.Inputs["accessLogs"].(map[string]any); al["bucket"] != "d1a2b3c4-storage-dev-logs" || al["prefix"] != "alb" || al["enabled"] != true {
		t.Errorf("alb access logs = %v", al)
	}
	if n := alb.Inputs["name"].(string); len(n) > 32 {
		t.Errorf("alb name %q is longer than 32", n)
	}
	https := r.One(t, "aws:lb/listener:Listener", "-https")
	if https.Inputs["port"] != 443.0 || https.Inputs["protocol"] != "HTTPS" || https.Inputs["certificateArn"] != certArn ||
		https.Inputs["sslPolicy"] != "ELBSecurityPolicy-TLS13-1-2-2021-06" {
		t.Errorf("https listener = %v", https.Inputs)
	}
	http := r.One(t, "aws:lb/listener:Listener", "-http")
	act := http.Inputs["defaultActions"].([]any)[0].(map[string]any)
	if act["type"] != "redirect" || act["redirect"].(map[string]any)["protocol"] != "HTTPS" || act["redirect"].(map[string]any)["statusCode"] != "HTTP_301" {
		t.Errorf("http listener action = %v, want a 301 to HTTPS", act)
	}
	tg := r.One(t, "aws:lb/targetGroup:TargetGroup", "-web")
	if tg.Inputs["port"] != 8080.0 || tg.Inputs["vpcId"] != "vpc-0abc1234def567890" || tg.Inputs["healthCheck"].(map[string]any)["path"] != "/health" {
		t.Errorf("target group = %v", tg.Inputs)
	}

	for _, role := range []string{"web", "worker"} {
		lt := r.One(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role)
		in := lt.Inputs
		if in["instanceType"] != "t3.small" || !strings.HasPrefix(in["imageId"].(string), "resolve:ssm:") {
			t.Errorf("%s: instance type/image = %v %v", role, in["instanceType"], in["imageId"])
		}
		if md := in["metadataOptions"].(map[string]any); md["httpTokens"] != "required" || md["httpPutResponseHopLimit"] != 1.0 {
			t.Errorf("%s: metadata options = %v, want IMDSv2 required", role, md)
		}
		ebs := in["blockDeviceMappings"].([]any)[0].(map[string]any)["ebs"].(map[string]any)
		if ebs["encrypted"] != "true" || ebs["volumeType"] != "gp3" || ebs["volumeSize"] != 20.0 {
			t.Errorf("%s: root volume = %v, want 20 GiB encrypted gp3", role, ebs)
		}
		if sg := in["vpcSecurityGroupIds"].([]any); len(sg) != 1 || sg[0] != "sg-0f1e2d3c4b5a69788" {
			t.Errorf("%s: security groups = %v", role, sg)
		}
		ud, _ := base64.StdEncoding.DecodeString(in["userData"].(string))
		if !strings.Contains(string(ud), "fs-0123456789abcdef0:/ /mnt/shared efs _netdev,tls,iam") || !strings.Contains(string(ud), "ROLE="+role) {
			t.Errorf("%s: user data does not mount the file system: %s", role, ud)
		}
		asg := r.One(t, "aws:autoscaling/group:Group", "-"+role+"-asg")
		if asg.Inputs["minSize"] != 1.0 || asg.Inputs["maxSize"] != 3.0 {
			t.Errorf("%s: sizes = %v..%v", role, asg.Inputs["minSize"], asg.Inputs["maxSize"])
		}
		if sn := asg.Inputs["vpcZoneIdentifiers"].([]any); len(sn) != 2 || sn[0] != "subnet-0111aaaa2222bbbbc" {
			t.Errorf("%s: subnets = %v, want the private ones", role, sn)
		}
		tags := map[string]any{}
		for _, tg := range asg.Inputs["tags"].([]any) {
			tm := tg.(map[string]any)
			tags[tm["key"].(string)] = tm["value"]
			if tm["propagateAtLaunch"] != true {
				t.Errorf("%s: tag %v does not propagate", role, tm["key"])
			}
		}
		if tags["deployment"] != "d1a2b3c4" || tags["managed-by"] != "cloud" || tags["stack"] != "compute-ec2" {
			t.Errorf("%s: group tags = %v", role, tags)
		}
		pol := r.One(t, "aws:autoscaling/policy:Policy", "-"+role+"-cpu")
		ttc := pol.Inputs["targetTrackingConfiguration"].(map[string]any)
		if pol.Inputs["policyType"] != "TargetTrackingScaling" || ttc["targetValue"] != 60.0 ||
			ttc["predefinedMetricSpecification"].(map[string]any)["predefinedMetricType"] != "ASGAverageCPUUtilization" {
			t.Errorf("%s: scaling policy = %v", role, pol.Inputs)
		}
		if lg := r.One(t, "aws:cloudwatch/logGroup:LogGroup", "-"+role+"-logs"); lg.Inputs["name"] != "/cloud/d1a2b3c4-compute-ec2-dev-"+role {
			t.Errorf("%s: log group = %v", role, lg.Inputs["name"])
		}
	}
	if tgs, _ := r.One(t, "aws:autoscaling/group:Group", "-web-asg").Inputs["targetGroupArns"].([]any); len(tgs) != 1 {
		t.Errorf("web group target groups = %v, want the ALB's", tgs)
	}
	if tgs := r.One(t, "aws:autoscaling/group:Group", "-worker-asg").Inputs["targetGroupArns"]; tgs != nil {
		t.Errorf("worker group target groups = %v, want none", tgs)
	}

	role := r.One(t, "aws:iam/role:Role", "-instance")
	if !strings.Contains(role.Inputs["assumeRolePolicy"].(string), `"Service":"ec2.amazonaws.com"`) {
		t.Errorf("instance role trust = %v", role.Inputs["assumeRolePolicy"])
	}
	var doc struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(r.One(t, "aws:iam/rolePolicy:RolePolicy", "-instance-policy").Inputs["policy"].(string)), &doc); err != nil {
		t.Fatal(err)
	}
	found := map[string]any{}
	for _, s := range doc.Statement {
		found[s["Sid"].(string)] = s["Resource"]
	}
	if found["SharedFiles"] != "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0" ||
		found["ReadReleases"] != "arn:aws:s3:::d1a2b3c4-storage-dev-artifacts/*" {
		t.Errorf("instance policy resources = %v", found)
	}

	if got := r.Values["webAsgName"]; got != "d1a2b3c4-compute-ec2-dev-web" {
		t.Errorf("webAsgName = %v", got)
	}
	if got, _ := r.Values["albDnsName"].(string); !strings.HasSuffix(got, ".elb.amazonaws.com") {
		t.Errorf("albDnsName = %v", got)
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
}

func TestStack_PlainHTTP(t *testing.T) {
	r := awstest.Run(t, Stack, config(map[string]any{"deletionProtection": false, "minSize": 2.0, "maxSize": 6.0}))
	if n := len(r.OfType("aws:lb/listener:Listener")); n != 1 {
		t.Fatalf("listeners = %d, want the HTTP one alone", n)
	}
	act := r.One(t, "aws:lb/listener:Listener", "-http").Inputs["defaultActions"].([]any)[0].(map[string]any)
	if act["type"] != "forward" {
		t.Errorf("http action = %v, want forward", act)
	}
	if p := r.One(t, "aws:lb/loadBalancer:LoadBalancer", "-alb").Inputs["enableDeletionProtection"]; p != false {
		t.Errorf("deletion protection = %v", p)
	}
	if asg := r.One(t, "aws:autoscaling/group:Group", "-worker-asg"); asg.Inputs["minSize"] != 2.0 || asg.Inputs["maxSize"] != 6.0 {
		t.Errorf("worker sizes = %v..%v", asg.Inputs["minSize"], asg.Inputs["maxSize"])
	}
	r.AssertOutputs(t)
}

func TestStack_BadInputs(t *testing.T) {
	for _, tc := range []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"minSize": 4.0, "maxSize": 3.0}, "maxSize"},
		{map[string]any{"instanceType": "large"}, "instanceType"},
		{map[string]any{"cpuTarget": 150.0}, "cpuTarget"},
		{map[string]any{"publicSubnetIds": []any{"subnet-0aaa1111bbbb2222c"}}, "publicSubnetIds"},
		{map[string]any{"volumeSize": 4.0}, "volumeSize"},
		{map[string]any{"certificateArn": "my-cert"}, "certificateArn"},
		{map[string]any{"healthCheckPath": "health"}, "healthCheckPath"},
		{map[string]any{"logsBucketName": ""}, "logsBucketName"},
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
