package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

const keyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func config(extra map[string]any) map[string]any {
	c := map[string]any{
		"privateSubnetIds":  []any{"subnet-0111aaaa2222bbbbc", "subnet-0333cccc4444ddddf"},
		"eksSgId":           "sg-0e1c2d3e4f5a60718",
		"eksClusterRoleArn": "arn:aws:iam::123456789012:role/cluster",
		"eksNodeRoleArn":    "arn:aws:iam::123456789012:role/node",
		"applicationKeyArn": keyArn,
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestStack_Defaults(t *testing.T) {
	r := awstest.Run(t, Stack, config(nil))

	cl := r.One(t, "aws:eks/cluster:Cluster", "-cluster")
	in := cl.Inputs
	if in["name"] != "d1a2b3c4-services-eks-dev-cluster" || in["version"] != "1.31" || in["roleArn"] != "arn:aws:iam::123456789012:role/cluster" {
		t.Errorf("cluster name/version/role = %v %v %v", in["name"], in["version"], in["roleArn"])
	}
	vpc := in["vpcConfig"].(map[string]any)
	if vpc["endpointPrivateAccess"] != true || vpc["endpointPublicAccess"] != true || vpc["securityGroupIds"].([]any)[0] != "sg-0e1c2d3e4f5a60718" {
		t.Errorf("vpc config = %v", vpc)
	}
	enc := in["encryptionConfig"].(map[string]any)
	if enc["provider"].(map[string]any)["keyArn"] != keyArn || enc["resources"].([]any)[0] != "secrets" {
		t.Errorf("encryption = %v", enc)
	}
	if logs := in["enabledClusterLogTypes"].([]any); len(logs) != 5 {
		t.Errorf("log types = %v", logs)
	}
	if lg := r.One(t, "aws:cloudwatch/logGroup:LogGroup", "-cluster-logs"); lg.Inputs["name"] != "/aws/eks/d1a2b3c4-services-eks-dev-cluster/cluster" || lg.Inputs["retentionInDays"] != 30.0 {
		t.Errorf("cluster log group = %v", lg.Inputs)
	}

	oidc := r.One(t, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "-oidc")
	if !strings.HasPrefix(oidc.Inputs["url"].(string), "https://oidc.eks.us-east-1.amazonaws.com/id/") || oidc.Inputs["clientIdLists"].([]any)[0] != "sts.amazonaws.com" {
		t.Errorf("oidc provider = %v", oidc.Inputs)
	}

	od := r.One(t, "aws:eks/nodeGroup:NodeGroup", "-nodes")
	if od.Inputs["capacityType"] != "ON_DEMAND" || od.Inputs["instanceTypes"].([]any)[0] != "t3.medium" || od.Inputs["nodeRoleArn"] != "arn:aws:iam::123456789012:role/node" {
		t.Errorf("on-demand group = %v", od.Inputs)
	}
	if sc := od.Inputs["scalingConfig"].(map[string]any); sc["desiredSize"] != 2.0 || sc["minSize"] != 1.0 || sc["maxSize"] != 4.0 {
		t.Errorf("on-demand sizes = %v", sc)
	}
	sp := r.One(t, "aws:eks/nodeGroup:NodeGroup", "-spot")
	if sp.Inputs["capacityType"] != "SPOT" || len(sp.Inputs["instanceTypes"].([]any)) != 3 {
		t.Errorf("spot group = %v", sp.Inputs)
	}
	if sc := sp.Inputs["scalingConfig"].(map[string]any); sc["desiredSize"] != 1.0 || sc["minSize"] != 0.0 || sc["maxSize"] != 4.0 {
		t.Errorf("spot sizes = %v", sc)
	}
	if taints, _ := sp.Inputs["taints"].([]any); len(taints) != 1 || taints[0].(map[string]any)["effect"] != "NO_SCHEDULE" {
		t.Errorf("spot taints = %v", sp.Inputs["taints"])
	}
	for _, p := range []string{"nodes", "spot"} {
		lt := r.One(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+p+"-template")
		if md := lt.Inputs["metadataOptions"].(map[string]any); md["httpTokens"] != "required" {
			t.Errorf("%s: metadata = %v, want IMDSv2", p, md)
		}
		if ebs := lt.Inputs["blockDeviceMappings"].([]any)[0].(map[string]any)["ebs"].(map[string]any); ebs["encrypted"] != "true" || ebs["volumeSize"] != 50.0 {
			t.Errorf("%s: root volume = %v", p, ebs)
		}
	}
	for _, a := range []string{"vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"} {
		if add := r.One(t, "aws:eks/addon:Addon", "-"+a); add.Inputs["addonName"] != a {
			t.Errorf("add-on %s = %v", a, add.Inputs["addonName"])
		}
	}

	if r.Values["clusterEndpoint"] != "https://ABCDEF0123456789.gr7.us-east-1.eks.amazonaws.com" {
		t.Errorf("clusterEndpoint = %v", r.Values["clusterEndpoint"])
	}
	var kc struct {
		Clusters []struct {
			Cluster map[string]string
		}
		Users []struct {
			User struct {
				Exec struct {
					Command string
					Args    []string
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(r.Values["kubeconfig"].(string)), &kc); err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	if kc.Clusters[0].Cluster["server"] != r.Values["clusterEndpoint"] || kc.Clusters[0].Cluster["certificate-authority-data"] != "LS0tLS1CRUdJTi1DRVJUSUZJQ0FURS0tLS0t" ||
		kc.Users[0].User.Exec.Command != "aws" || !strings.Contains(strings.Join(kc.Users[0].User.Exec.Args, " "), "--cluster-name d1a2b3c4-services-eks-dev-cluster") {
		t.Errorf("kubeconfig = %+v", kc)
	}
	if !r.Validation.Outputs["kubeconfig"].Secret {
		t.Error("kubeconfig is not secret")
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
}

func TestStack_PrivateOnlyWithoutSpot(t *testing.T) {
	r := awstest.Run(t, Stack, config(map[string]any{"enableSpotNodes": false, "endpointPublicAccess": false, "kubernetesVersion": "1.30"}))
	if n := len(r.OfType("aws:eks/nodeGroup:NodeGroup")); n != 1 {
		t.Errorf("node groups = %d, want 1", n)
	}
	vpc := r.One(t, "aws:eks/cluster:Cluster", "-cluster").Inputs["vpcConfig"].(map[string]any)
	if vpc["endpointPublicAccess"] != false || vpc["publicAccessCidrs"] != nil {
		t.Errorf("vpc config = %v, want a private endpoint only", vpc)
	}
	if v := r.One(t, "aws:eks/nodeGroup:NodeGroup", "-nodes").Inputs["version"]; v != "1.30" {
		t.Errorf("node version = %v", v)
	}
	r.AssertOutputs(t)
}

func TestStack_BadInputs(t *testing.T) {
	for _, tc := range []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"kubernetesVersion": "latest"}, "kubernetesVersion"},
		{map[string]any{"desiredNodes": 9.0}, "desiredNodes"},
		{map[string]any{"minNodes": 5.0}, "maxNodes"},
		{map[string]any{"nodeInstanceTypes": []any{}}, "nodeInstanceTypes"},
		{map[string]any{"spotInstanceTypes": []any{"t3.medium", "big"}}, "spotInstanceTypes[1]"},
		{map[string]any{"endpointPrivateAccess": false, "endpointPublicAccess": false}, "endpointPrivateAccess"},
		{map[string]any{"publicAccessCidrs": []any{"everywhere"}}, "publicAccessCidrs[0]"},
		{map[string]any{"privateSubnetIds": []any{"subnet-0111aaaa2222bbbbc"}}, "privateSubnetIds"},
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
