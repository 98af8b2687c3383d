package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

const (
	typeBucket     = "aws:s3/bucketV2:BucketV2"
	typePAB        = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	typeOwnership  = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	typeSSE        = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	typeVersioning = "aws:s3/bucketVersioningV2:BucketVersioningV2"
	typeLifecycle  = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	typePolicy     = "aws:s3/bucketPolicy:BucketPolicy"
	typeLogging    = "aws:s3/bucketLoggingV2:BucketLoggingV2"
	typeFS         = "aws:efs/fileSystem:FileSystem"
	typeMount      = "aws:efs/mountTarget:MountTarget"
	typeAP         = "aws:efs/accessPoint:AccessPoint"
	typeSG         = "aws:ec2/securityGroup:SecurityGroup"

	keyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func cfg(extra map[string]any) map[string]any {
	c := map[string]any{
		"vpcId": "vpc-0abc1234def567890", "vpcCidrBlock": "10.0.0.0/16", "applicationKeyArn": keyArn,
		"privateSubnetIds": []any{"subnet-0aaa", "subnet-0bbb", "subnet-0ccc"},
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func bucketName(p string) string { return "d1a2b3c4-storage-dev-" + p }

func TestStorage_Buckets(t *testing.T) {
	r := awstest.Run(t, Stack, cfg(nil))
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)

	if n := len(r.OfType(typeBucket)); n != 5 {
		t.Fatalf("buckets = %d, want 5", n)
	}
	for p, out := range bucketOutputs {
		name := bucketName(p)
		if r.Values[out] != name {
			t.Errorf("%s = %v, want %s", out, r.Values[out], name)
		}
		b := r.One(t, typeBucket, "-"+p)
		if b.Inputs["bucket"] != name || len(name) > 63 || strings.ToLower(name) != name {
			t.Errorf("bucket %s name = %v", p, b.Inputs["bucket"])
		}
		bucketID := name + "-id"

		pab := r.One(t, typePAB, "-"+p+"-public-access")
		for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
			if pab.Inputs[k] != true {
				t.Errorf("%s public access block %s = %v", p, k, pab.Inputs[k])
			}
		}
		if pab.Inputs["bucket"] != bucketID {
			t.Errorf("%s public access block on %v", p, pab.Inputs["bucket"])
		}
		own := r.One(t, typeOwnership, "-"+p+"-ownership")
		if rule, _ := own.Inputs["rule"].(map[string]any); rule["objectOwnership"] != "BucketOwnerEnforced" {
			t.Errorf("%s ownership = %v", p, own.Inputs)
		}

		sse := r.One(t, typeSSE, "-"+p+"-encryption")
		rules, _ := sse.Inputs["rules"].([]any)
		if len(rules) != 1 {
			t.Fatalf("%s sse rules = %v", p, rules)
		}
		def := rules[0].(map[string]any)["applyServerSideEncryptionByDefault"].(map[string]any)
		if p == "logs" {
			if def["sseAlgorithm"] != "AES256" {
				t.Errorf("logs sse = %v, want AES256 (ELB logs)", def)
			}
		} else if def["sseAlgorithm"] != "aws:kms" || def["kmsMasterKeyId"] != keyArn {
			t.Errorf("%s sse = %v, want the application key", p, def)
		}

		v := r.One(t, typeVersioning, "-"+p+"-versioning")
		if vc, _ := v.Inputs["versioningConfiguration"].(map[string]any); vc["status"] != "Enabled" {
			t.Errorf("%s versioning = %v", p, v.Inputs)
		}

		pol := r.One(t, typePolicy, "-"+p+"-policy")
		var doc struct {
			Statement []struct {
				Sid       string
				Effect    string
				Principal any
				Action    any
				Resource  any
				Condition map[string]map[string]string
			}
		}
		if err := json.Unmarshal([]byte(pol.Inputs["policy"].(string)), &doc); err != nil {
			t.Fatal(err)
		}
		deny := doc.Statement[0]
		arn := "arn:aws:s3:us-east-1:123456789012:" + name
		if deny.Effect != "Deny" || deny.Principal != "*" || deny.Condition["Bool"]["aws:SecureTransport"] != "false" ||
			!reflect.DeepEqual(deny.Resource, []any{arn, arn + "/*"}) {
			t.Errorf("%s TLS statement = %+v", p, deny)
		}
		if p == "logs" {
			if len(doc.Statement) != 4 || doc.Statement[1].Sid != "S3ServerAccessLogs" || doc.Statement[3].Principal.(map[string]any)["AWS"] != "arn:aws:iam::127311923021:root" {
				t.Errorf("logs policy = %+v", doc)
			}
		} else if len(doc.Statement) != 1 {
			t.Errorf("%s policy has %d statements, want only the TLS deny", p, len(doc.Statement))
		}

		lc := r.One(t, typeLifecycle, "-"+p+"-lifecycle")
		rule := lc.Inputs["rules"].([]any)[0].(map[string]any)
		if nv, _ := rule["noncurrentVersionExpiration"].(map[string]any); nv["noncurrentDays"] != 30.0 {
			t.Errorf("%s noncurrent expiration = %v", p, rule)
		}
		exp, _ := rule["expiration"].(map[string]any)
		if (p == "logs") != (exp != nil) || (p == "logs" && exp["days"] != 90.0) {
			t.Errorf("%s expiration = %v", p, exp)
		}

		if p == "logs" {
			if n := len(r.OfType(typeLogging)); n != 4 {
				t.Errorf("access logging on %d buckets, want 4", n)
			}
		} else {
			lg := r.One(t, typeLogging, "-"+p+"-logging")
			if lg.Inputs["targetBucket"] != bucketName("logs")+"-id" || lg.Inputs["targetPrefix"] != "s3/"+p+"/" {
				t.Errorf("%s logging = %v", p, lg.Inputs)
			}
		}
	}
}

func TestStorage_VersioningOff(t *testing.T) {
	r := awstest.Run(t, Stack, cfg(map[string]any{"enableVersioning": false, "logRetentionDays": 30.0}))
	v := r.One(t, typeVersioning, "-assets-versioning")
	if vc := v.Inputs["versioningConfiguration"].(map[string]any); vc["status"] != "Suspended" {
		t.Errorf("versioning = %v", vc)
	}
	rule := r.One(t, typeLifecycle, "-logs-lifecycle").Inputs["rules"].([]any)[0].(map[string]any)
	if rule["noncurrentVersionExpiration"] != nil || rule["expiration"].(map[string]any)["days"] != 30.0 {
		t.Errorf("logs lifecycle = %v", rule)
	}
}

func TestStorage_FileSystem(t *testing.T) {
	r := awstest.Run(t, Stack, cfg(nil))
	fs := r.One(t, typeFS, "-efs")
	if fs.Inputs["encrypted"] != true || fs.Inputs["kmsKeyId"] != keyArn {
		t.Errorf("file system = %v", fs.Inputs)
	}
	if fmt.Sprint(r.Values["efsId"]) != fs.Name+"-id" {
		t.Errorf("efsId = %v", r.Values["efsId"])
	}
	mounts := r.OfType(typeMount)
	if len(mounts) != 3 {
		t.Fatalf("mount targets = %d, want one per private subnet", len(mounts))
	}
	sgID := "d1a2b3c4-storage-dev-efs-id"
	for i, m := range mounts {
		want := []string{"subnet-0aaa", "subnet-0bbb", "subnet-0ccc"}[i]
		if m.Inputs["subnetId"] != want || !reflect.DeepEqual(m.Inputs["securityGroups"], []any{sgID}) || m.Inputs["fileSystemId"] != fs.Name+"-id" {
			t.Errorf("mount %d = %v", i, m.Inputs)
		}
	}
	sg := r.One(t, typeSG, "-efs")
	rule := sg.Inputs["ingress"].([]any)[0].(map[string]any)
	if rule["fromPort"] != 2049.0 || rule["toPort"] != 2049.0 || !reflect.DeepEqual(rule["cidrBlocks"], []any{"10.0.0.0/16"}) || sg.Inputs["vpcId"] != "vpc-0abc1234def567890" {
		t.Errorf("efs sg = %v", sg.Inputs)
	}
	ap := r.One(t, typeAP, "-efs-app")
	if root := ap.Inputs["rootDirectory"].(map[string]any); root["path"] != "/app" {
		t.Errorf("access point = %v", ap.Inputs)
	}

	// Named client groups replace the VPC-wide rule.
	r2 := awstest.Run(t, Stack, cfg(map[string]any{"efsClientSgIds": []any{"sg-0ecs", "sg-0eks"}}))
	rule = r2.One(t, typeSG, "-efs").Inputs["ingress"].([]any)[0].(map[string]any)
	if !reflect.DeepEqual(rule["securityGroups"], []any{"sg-0ecs", "sg-0eks"}) || rule["cidrBlocks"] != nil {
		t.Errorf("efs sg with clients = %v", rule)
	}
}

func TestStorage_BadInputs(t *testing.T) {
	cases := []struct {
		config map[string]any
		want   string
	}{
		{cfg(map[string]any{"privateSubnetIds": []any{}}), `"privateSubnetIds"`},
		{cfg(map[string]any{"applicationKeyArn": "not-an-arn"}), `"applicationKeyArn"`},
		{cfg(map[string]any{"logRetentionDays": 0.0}), `"logRetentionDays"`},
		{map[string]any{"vpcId": "vpc-1", "vpcCidrBlock": "10.0.0.0/16", "applicationKeyArn": keyArn}, `"privateSubnetIds"`},
	}
	for _, tc := range cases {
		r := awstest.RunErr(t, Stack, tc.config)
		if !strings.Contains(r.Validation.Error, tc.want) {
			t.Errorf("config %v: error %q does not name %s", tc.config, r.Validation.Error, tc.want)
		}
	}
}

func TestStorage_Validate(t *testing.T) {
	awstest.AssertValidates(t, Stack)
}
