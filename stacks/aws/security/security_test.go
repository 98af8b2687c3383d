package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

const (
	typeSG     = "aws:ec2/securityGroup:SecurityGroup"
	typeRole   = "aws:iam/role:Role"
	typePolicy = "aws:iam/rolePolicy:RolePolicy"
	typeAttach = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	typeKey    = "aws:kms/key:Key"
	typeAlias  = "aws:kms/alias:Alias"
)

var config = map[string]any{"vpcId": "vpc-0abc1234def567890", "vpcCidrBlock": "10.1.0.0/16"}

func sgID(g string) string { return "d1a2b3c4-security-dev-" + g + "-id" }

func rules(t *testing.T, sg awstest.Resource, key string) []map[string]any {
	t.Helper()
	list, _ := sg.Inputs[key].([]any)
	out := make([]map[string]any, len(list))
	for i, r := range list {
		out[i] = r.(map[string]any)
	}
	return out
}

func TestSecurity_Outputs(t *testing.T) {
	r := awstest.Run(t, Stack, config)
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
	for _, g := range sgOrder {
		if fmt.Sprint(r.Values[g+"SgId"]) != sgID(g) {
			t.Errorf("%sSgId = %v", g, r.Values[g+"SgId"])
		}
	}
	if v, _ := r.Values["applicationKeyArn"].(string); !strings.HasPrefix(v, "arn:aws:kms:") || !strings.HasSuffix(v, "-application") {
		t.Errorf("applicationKeyArn = %v", r.Values["applicationKeyArn"])
	}
	if v, _ := r.Values["lambdaRoleArn"].(string); !strings.HasPrefix(v, "arn:aws:iam:") {
		t.Errorf("lambdaRoleArn = %v", v)
	}
}

func TestSecurity_SecurityGroups(t *testing.T) {
	r := awstest.Run(t, Stack, config)
	if got := len(r.OfType(typeSG)); got != 7 {
		t.Fatalf("security groups = %d, want 7", got)
	}
	for _, sg := range r.OfType(typeSG) {
		if sg.Inputs["vpcId"] != "vpc-0abc1234def567890" {
			t.Errorf("%s vpcId = %v", sg.Name, sg.Inputs["vpcId"])
		}
	}

	alb := r.One(t, typeSG, "-alb")
	in := rules(t, alb, "ingress")
	if len(in) != 2 {
		t.Fatalf("alb ingress = %v", in)
	}
	for i, port := range []float64{80, 443} {
		if in[i]["fromPort"] != port || in[i]["toPort"] != port || in[i]["protocol"] != "tcp" ||
			!reflect.DeepEqual(in[i]["cidrBlocks"], []any{"0.0.0.0/0"}) {
			t.Errorf("alb rule %d = %v, want tcp %v from anywhere", i, in[i], port)
		}
	}
	if eg := rules(t, alb, "egress"); len(eg) != 1 || !reflect.DeepEqual(eg[0]["cidrBlocks"], []any{"10.1.0.0/16"}) {
		t.Errorf("alb egress = %v, want the VPC only", eg)
	}

	for _, g := range []string{"web", "api", "ecs"} {
		in := rules(t, r.One(t, typeSG, "-"+g), "ingress")
		if len(in) != 1 || !reflect.DeepEqual(in[0]["securityGroups"], []any{sgID("alb")}) || in[0]["cidrBlocks"] != nil {
			t.Errorf("%s ingress = %v, want only from the alb group", g, in)
		}
	}

	eks := rules(t, r.One(t, typeSG, "-eks"), "ingress")
	if len(eks) != 3 || eks[0]["self"] != true || !reflect.DeepEqual(eks[1]["securityGroups"], []any{sgID("alb")}) ||
		eks[2]["fromPort"] != 443.0 || !reflect.DeepEqual(eks[2]["cidrBlocks"], []any{"10.1.0.0/16"}) {
		t.Errorf("eks ingress = %v", eks)
	}
	if in := rules(t, r.One(t, typeSG, "-lambda"), "ingress"); len(in) != 0 {
		t.Errorf("lambda ingress = %v, want none", in)
	}

	db := r.One(t, typeSG, "-db")
	din := rules(t, db, "ingress")
	if len(din) != 1 || din[0]["fromPort"] != 5432.0 || din[0]["toPort"] != 5432.0 || din[0]["cidrBlocks"] != nil {
		t.Fatalf("db ingress = %v, want 5432 from groups only", din)
	}
	var src []string
	for _, s := range din[0]["securityGroups"].([]any) {
		src = append(src, s.(string))
	}
	sort.Strings(src)
	want := []string{sgID("api"), sgID("ecs"), sgID("eks"), sgID("lambda"), sgID("web")}
	if !reflect.DeepEqual(src, want) {
		t.Errorf("db sources = %v, want %v", src, want)
	}
	if eg := rules(t, db, "egress"); len(eg) != 0 {
		t.Errorf("db egress = %v, want none", eg)
	}
}

type policyDoc struct {
	Statement []struct {
		Effect    string
		Principal map[string]any
		Action    any
		Resource  any
		Condition map[string]any
	}
}

func parse(t *testing.T, s any) policyDoc {
	t.Helper()
	var d policyDoc
	if err := json.Unmarshal([]byte(s.(string)), &d); err != nil {
		t.Fatalf("policy %v: %v", s, err)
	}
	return d
}

func TestSecurity_Roles(t *testing.T) {
	r := awstest.Run(t, Stack, config)
	principals := map[string]string{
		"-ecs-execution": "ecs-tasks.amazonaws.com", "-ecs-task": "ecs-tasks.amazonaws.com",
		"-eks-cluster": "eks.amazonaws.com", "-eks-node": "ec2.amazonaws.com", "-lambda": "lambda.amazonaws.com",
	}
	for suffix, svc := range principals {
		role := r.One(t, typeRole, suffix)
		d := parse(t, role.Inputs["assumeRolePolicy"])
		if len(d.Statement) != 1 || d.Statement[0].Principal["Service"] != svc || d.Statement[0].Action != "sts:AssumeRole" {
			t.Errorf("%s trust = %+v, want %s", suffix, d, svc)
		}
		if n, _ := role.Inputs["name"].(string); len(n) > 64 || !strings.HasPrefix(n, "d1a2b3c4-security-dev") {
			t.Errorf("%s name = %q", suffix, n)
		}
	}

	actions := func(suffix string) map[string][]string {
		d := parse(t, r.One(t, typePolicy, suffix+"-policy").Inputs["policy"])
		got := map[string][]string{}
		for _, s := range d.Statement {
			if s.Effect != "Allow" {
				t.Errorf("%s: effect %s", suffix, s.Effect)
			}
			for _, a := range s.Action.([]any) {
				for _, res := range s.Resource.([]any) {
					got[a.(string)] = append(got[a.(string)], res.(string))
				}
			}
		}
		return got
	}
	appKey := "arn:aws:kms:us-east-1:123456789012:d1a2b3c4-security-dev-application"
	exec := actions("-ecs-execution")
	if !reflect.DeepEqual(exec["ecr:BatchGetImage"], []string{"arn:aws:ecr:us-east-1:123456789012:repository/*"}) ||
		!reflect.DeepEqual(exec["kms:Decrypt"], []string{appKey}) || len(exec) != 7 {
		t.Errorf("ecs execution policy = %v", exec)
	}
	if task := actions("-ecs-task"); len(task) != 2 || !reflect.DeepEqual(task["kms:GenerateDataKey"], []string{appKey}) {
		t.Errorf("ecs task policy = %v", task)
	}
	lambda := actions("-lambda")
	if !reflect.DeepEqual(lambda["logs:PutLogEvents"], []string{"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/*"}) ||
		lambda["ec2:CreateNetworkInterface"] == nil || len(lambda) != 9 {
		t.Errorf("lambda policy = %v", lambda)
	}
	for a := range lambda {
		if strings.Contains(a, "*") {
			t.Errorf("lambda policy has wildcard action %s", a)
		}
	}

	var managed []string
	for _, a := range r.OfType(typeAttach) {
		managed = append(managed, a.Inputs["policyArn"].(string))
	}
	sort.Strings(managed)
	want := []string{"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly", "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
		"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"}
	if !reflect.DeepEqual(managed, want) {
		t.Errorf("managed policies = %v", managed)
	}
}

func TestSecurity_Keys(t *testing.T) {
	for _, rotate := range []bool{true, false} {
		r := awstest.Run(t, Stack, map[string]any{"vpcId": "vpc-0abc1234def567890", "vpcCidrBlock": "10.1.0.0/16", "enableKmsRotation": rotate})
		if got := len(r.OfType(typeKey)); got != 3 {
			t.Fatalf("keys = %d, want 3", got)
		}
		for _, p := range []string{"application", "database", "infrastructure"} {
			k := r.One(t, typeKey, "-"+p)
			if k.Inputs["enableKeyRotation"] != rotate || k.Inputs["deletionWindowInDays"] != 30.0 {
				t.Errorf("%s key = %v, want rotation %v", p, k.Inputs, rotate)
			}
			d := parse(t, k.Inputs["policy"])
			if d.Statement[0].Principal["AWS"] != "arn:aws:iam::123456789012:root" {
				t.Errorf("%s key policy = %+v", p, d)
			}
			a := r.One(t, typeAlias, "-"+p+"-alias")
			if a.Inputs["name"] != "alias/d1a2b3c4-security-dev-"+p {
				t.Errorf("%s alias = %v", p, a.Inputs["name"])
			}
		}
		infra := parse(t, r.One(t, typeKey, "-infrastructure").Inputs["policy"])
		if len(infra.Statement) != 2 || infra.Statement[1].Principal["Service"] != "logs.us-east-1.amazonaws.com" {
			t.Errorf("infrastructure key policy = %+v", infra)
		}
	}
}

func TestSecurity_BadInputs(t *testing.T) {
	cases := []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"vpcCidrBlock": "10.1.0.0/16"}, `"vpcId"`},
		{map[string]any{"vpcId": "vpc-0abc1234def567890"}, `"vpcCidrBlock"`},
		{map[string]any{"vpcId": "vpc-0abc1234def567890", "vpcCidrBlock": "10.1.0.0/16", "kmsDeletionWindowDays": 3.0}, `"kmsDeletionWindowDays"`},
	}
	for _, tc := range cases {
		r := awstest.RunErr(t, Stack, tc.config)
		if !strings.Contains(r.Validation.Error, tc.want) {
			t.Errorf("config %v: error %q does not name %s", tc.config, r.Validation.Error, tc.want)
		}
	}
}

func TestSecurity_Validate(t *testing.T) {
	awstest.AssertValidates(t, Stack)
}
