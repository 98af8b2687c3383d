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

	if got := len(r.OfType("aws:ecr/repository:Repository")); got != 3 {
		t.Errorf("repositories = %d, want 3", got)
	}
	urls, _ := r.Values["repositoryUrls"].(map[string]string)
	for _, img := range []string{"frontend", "backend", "worker"} {
		repo := r.One(t, "aws:ecr/repository:Repository", "-"+img)
		name := "d1a2b3c4-containers-images-dev-" + img
		if repo.Inputs["name"] != name {
			t.Errorf("repository name = %v, want %v", repo.Inputs["name"], name)
		}
		if sc := repo.Inputs["imageScanningConfiguration"].(map[string]any); sc["scanOnPush"] != true {
			t.Errorf("%s: scanOnPush = %v", img, sc["scanOnPush"])
		}
		enc := repo.Inputs["encryptionConfigurations"].([]any)[0].(map[string]any)
		if enc["encryptionType"] != "KMS" || enc["kmsKey"] != keyArn {
			t.Errorf("%s: encryption = %v", img, enc)
		}
		if got := keepCount(t, r.One(t, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "-"+img+"-lifecycle").Inputs["policy"]); got != 30 {
			t.Errorf("%s: lifecycle keeps %v images, want 30", img, got)
		}
		if want := "123456789012.dkr.ecr.us-east-1.amazonaws.com/" + name; urls[img] != want {
			t.Errorf("repositoryUrls[%s] = %q, want %q", img, urls[img], want)
		}
	}

	p := r.One(t, "aws:codebuild/project:Project", "-images")
	if got, want := r.Values["codebuildProjectName"], "d1a2b3c4-containers-images-dev-images"; got != want || p.Inputs["name"] != want {
		t.Errorf("project name = %v / output %v, want %v", p.Inputs["name"], got, want)
	}
	if p.Inputs["source"].(map[string]any)["type"] != "NO_SOURCE" || p.Inputs["encryptionKey"] != keyArn {
		t.Errorf("project source/encryption = %v / %v", p.Inputs["source"], p.Inputs["encryptionKey"])
	}
	env := p.Inputs["environment"].(map[string]any)
	if env["privilegedMode"] != true || env["computeType"] != "BUILD_GENERAL1_SMALL" {
		t.Errorf("build environment = %v", env)
	}
	vars := map[string]any{}
	for _, v := range env["environmentVariables"].([]any) {
		vars[v.(map[string]any)["name"].(string)] = v.(map[string]any)["value"]
	}
	if vars["REGISTRY"] != "123456789012.dkr.ecr.us-east-1.amazonaws.com" || vars["IMAGES"] != "frontend backend worker" ||
		vars["REPOSITORY_PREFIX"] != "d1a2b3c4-containers-images-dev-" {
		t.Errorf("build variables = %v", vars)
	}
	if lc := p.Inputs["logsConfig"].(map[string]any)["cloudwatchLogs"].(map[string]any); lc["groupName"] != "/cloud/d1a2b3c4-containers-images-dev-build" {
		t.Errorf("build logs = %v", lc)
	}

	role := r.One(t, "aws:iam/role:Role", "-codebuild")
	if s := role.Inputs["assumeRolePolicy"].(string); !strings.Contains(s, `"Service":"codebuild.amazonaws.com"`) {
		t.Errorf("assume role policy = %s, want codebuild.amazonaws.com", s)
	}
	pol := r.One(t, "aws:iam/rolePolicy:RolePolicy", "-codebuild-policy")
	stmts := statements(t, pol.Inputs["policy"])
	push := stmts["EcrPush"]
	if push == nil || !contains(push["Action"], "ecr:PutImage") || contains(push["Action"], "ecr:*") {
		t.Errorf("push statement = %v, want exact ECR push actions", push)
	}
	if res := push["Resource"].([]any); len(res) != 3 || !strings.HasPrefix(res[0].(string), "arn:aws:ecr:") {
		t.Errorf("push resources = %v, want the three repository ARNs", res)
	}
	if login := stmts["EcrLogin"]; login == nil || login["Resource"] != "*" || !contains(login["Action"], "ecr:GetAuthorizationToken") {
		t.Errorf("login statement = %v", login)
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
}

func TestStack_GitHubSourceAndSettings(t *testing.T) {
	r := awstest.Run(t, Stack, config(map[string]any{
		"repositories": []any{"api"}, "maxImageCount": 10.0, "scanOnPush": false,
		"sourceLocation": "https://github.com/acme/web.git",
	}))
	if got := len(r.OfType("aws:ecr/repository:Repository")); got != 1 {
		t.Errorf("repositories = %d, want 1", got)
	}
	if sc := r.One(t, "aws:ecr/repository:Repository", "-api").Inputs["imageScanningConfiguration"].(map[string]any); sc["scanOnPush"] != false {
		t.Errorf("scanOnPush = %v, want false", sc["scanOnPush"])
	}
	if got := keepCount(t, r.One(t, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "-api-lifecycle").Inputs["policy"]); got != 10 {
		t.Errorf("lifecycle keeps %v, want 10", got)
	}
	src := r.One(t, "aws:codebuild/project:Project", "-images").Inputs["source"].(map[string]any)
	if src["type"] != "GITHUB" || src["location"] != "https://github.com/acme/web.git" {
		t.Errorf("source = %v", src)
	}
	r.AssertOutputs(t)
}

func TestStack_BadInputs(t *testing.T) {
	for _, tc := range []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"repositories": []any{"Frontend"}}, "repositories[0]"},
		{map[string]any{"repositories": []any{"a", "a"}}, "repositories[1]"},
		{map[string]any{"repositories": []any{}}, "repositories"},
		{map[string]any{"maxImageCount": 0.0}, "maxImageCount"},
		{map[string]any{"sourceLocation": "ftp://example.com/x"}, "sourceLocation"},
		{map[string]any{"buildComputeType": "HUGE"}, "buildComputeType"},
		{map[string]any{"logRetentionDays": 2.0}, "logRetentionDays"},
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

func keepCount(t *testing.T, policy any) float64 {
	t.Helper()
	var doc struct {
		Rules []struct {
			Selection struct {
				CountNumber float64 `json:"countNumber"`
			} `json:"selection"`
		} `json:"rules"`
	}
	s, _ := policy.(string)
	if err := json.Unmarshal([]byte(s), &doc); err != nil || len(doc.Rules) == 0 {
		t.Fatalf("lifecycle policy %q: %v", s, err)
	}
	return doc.Rules[0].Selection.CountNumber
}

// statements decodes an IAM policy into its statements by Sid.
func statements(t *testing.T, policy any) map[string]map[string]any {
	t.Helper()
	s, _ := policy.(string)
	var doc struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("policy %q: %v", s, err)
	}
	out := map[string]map[string]any{}
	for _, st := range doc.Statement {
		sid, _ := st["Sid"].(string)
		out[sid] = st
	}
	return out
}

func contains(list any, s string) bool {
	items, _ := list.([]any)
	for _, it := range items {
		if it == s {
			return true
		}
	}
	return false
}

// TestTemplateFile keeps template.json, which the library's generated
// templates and docs are made from, in step with the template.
func TestTemplateFile(t *testing.T) { awstest.CheckTemplateFile(t, Stack) }
