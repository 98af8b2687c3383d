package main

import (
	"encoding/json"
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

	scan := r.One(t, "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "-scanning")
	if got, want := scan.Inputs["scanType"], "ENHANCED"; got != want {
		t.Errorf("scanType = %v, want %v", got, want)
	}
	rules, _ := scan.Inputs["rules"].([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["scanFrequency"] != "CONTINUOUS_SCAN" {
		t.Errorf("scanning rules = %v, want one CONTINUOUS_SCAN rule", rules)
	}
	if got := len(r.OfType("aws:ecr/replicationConfiguration:ReplicationConfiguration")); got != 0 {
		t.Errorf("replication configurations = %d with no regions, want 0", got)
	}

	repos := r.OfType("aws:ecr/repository:Repository")
	if len(repos) != 3 {
		t.Fatalf("repositories = %d, want 3 (node, python, golang)", len(repos))
	}
	for _, base := range []string{"node", "python", "golang"} {
		repo := r.One(t, "aws:ecr/repository:Repository", "-base-"+base)
		if got, want := repo.Inputs["name"], "d1a2b3c4-services-ecr-dev-base-"+base; got != want {
			t.Errorf("repository name = %v, want %v", got, want)
		}
		if sc, _ := repo.Inputs["imageScanningConfiguration"].(map[string]any); sc["scanOnPush"] != true {
			t.Errorf("%s: scanOnPush = %v, want true", base, sc["scanOnPush"])
		}
		enc, _ := repo.Inputs["encryptionConfigurations"].([]any)
		if len(enc) != 1 || enc[0].(map[string]any)["encryptionType"] != "KMS" || enc[0].(map[string]any)["kmsKey"] != keyArn {
			t.Errorf("%s: encryption = %v, want KMS with the application key", base, enc)
		}
		lp := r.One(t, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "-base-"+base+"-lifecycle")
		if got := keepCount(t, lp.Inputs["policy"]); got != 30 {
			t.Errorf("%s: lifecycle keeps %v images, want 30", base, got)
		}
	}

	urls, _ := r.Values["baseRepositoryUrls"].(map[string]string)
	if got, want := urls["node"], "123456789012.dkr.ecr.us-east-1.amazonaws.com/d1a2b3c4-services-ecr-dev-base-node"; got != want {
		t.Errorf("baseRepositoryUrls[node] = %v, want %v", got, want)
	}
	if got, want := r.Values["registryUri"], "123456789012.dkr.ecr.us-east-1.amazonaws.com"; got != want {
		t.Errorf("registryUri = %v, want %v", got, want)
	}
	if got, want := r.Values["registryId"], "123456789012"; got != want {
		t.Errorf("registryId = %v, want %v", got, want)
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
}

func TestStack_ReplicationAndBasicScanning(t *testing.T) {
	r := awstest.Run(t, Stack, config(map[string]any{
		"replicationRegions": []any{"eu-west-1", "us-west-2"},
		"enhancedScanning":   false,
		"scanOnPush":         false,
		"maxImageCount":      5.0,
		"baseRepositories":   []any{"node"},
	}))
	scan := r.One(t, "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "-scanning")
	rules, _ := scan.Inputs["rules"].([]any)
	if scan.Inputs["scanType"] != "BASIC" || len(rules) != 1 || rules[0].(map[string]any)["scanFrequency"] != "MANUAL" {
		t.Errorf("scanning = %v %v, want BASIC/MANUAL", scan.Inputs["scanType"], rules)
	}
	repl := r.One(t, "aws:ecr/replicationConfiguration:ReplicationConfiguration", "-replication")
	rc := repl.Inputs["replicationConfiguration"].(map[string]any)
	dests := rc["rules"].([]any)[0].(map[string]any)["destinations"].([]any)
	if len(dests) != 2 || dests[0].(map[string]any)["region"] != "eu-west-1" || dests[1].(map[string]any)["region"] != "us-west-2" {
		t.Errorf("replication destinations = %v", dests)
	}
	if dests[0].(map[string]any)["registryId"] != "123456789012" {
		t.Errorf("replication destination registry = %v, want the account", dests[0])
	}
	repo := r.One(t, "aws:ecr/repository:Repository", "-base-node")
	if sc := repo.Inputs["imageScanningConfiguration"].(map[string]any); sc["scanOnPush"] != false {
		t.Errorf("scanOnPush = %v, want false", sc["scanOnPush"])
	}
	if got := keepCount(t, r.One(t, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "-lifecycle").Inputs["policy"]); got != 5 {
		t.Errorf("lifecycle keeps %v, want 5", got)
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
}

func TestStack_BadInputs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"bad region", map[string]any{"replicationRegions": []any{"mars-1"}}, `replicationRegions[0]`},
		{"own region", map[string]any{"replicationRegions": []any{"us-east-1"}}, `own region`},
		{"bad repository", map[string]any{"baseRepositories": []any{"Node"}}, `baseRepositories[0]`},
		{"zero images", map[string]any{"maxImageCount": 0.0}, `maxImageCount`},
		{"enhanced without push", map[string]any{"scanOnPush": false}, `scanOnPush`},
		{"missing key", map[string]any{"applicationKeyArn": nil}, `applicationKeyArn`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(tc.config)
			if v, ok := tc.config["applicationKeyArn"]; ok && v == nil {
				delete(cfg, "applicationKeyArn")
			}
			r := awstest.RunErr(t, Stack, cfg)
			if !strings.Contains(r.Validation.Error, tc.want) {
				t.Errorf("error = %q, want it to name %s", r.Validation.Error, tc.want)
			}
		})
	}
}

func TestStack_Validate(t *testing.T) {
	awstest.AssertValidates(t, Stack)
}

// keepCount is the countNumber of the first rule of an ECR lifecycle
// policy.
func keepCount(t *testing.T, policy any) float64 {
	t.Helper()
	s, _ := policy.(string)
	var doc struct {
		Rules []struct {
			Selection struct {
				CountType   string  `json:"countType"`
				CountNumber float64 `json:"countNumber"`
			} `json:"selection"`
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(s), &doc); err != nil || len(doc.Rules) == 0 {
		t.Fatalf("lifecycle policy %q: %v", s, err)
	}
	if doc.Rules[0].Selection.CountType != "imageCountMoreThan" {
		t.Errorf("lifecycle countType = %q", doc.Rules[0].Selection.CountType)
	}
	return doc.Rules[0].Selection.CountNumber
}

// TestTemplateFile keeps template.json, which the library's generated
// templates and docs are made from, in step with the template.
func TestTemplateFile(t *testing.T) { awstest.CheckTemplateFile(t, Stack) }
