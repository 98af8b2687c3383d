package main

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

const (
	typeSecret   = "aws:secretsmanager/secret:Secret"
	typeVersion  = "aws:secretsmanager/secretVersion:SecretVersion"
	typeRotation = "aws:secretsmanager/secretRotation:SecretRotation"
	typePolicy   = "aws:iam/policy:Policy"

	keyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func cfg(extra map[string]any) map[string]any {
	c := map[string]any{"applicationKeyArn": keyArn}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestSecrets_Secrets(t *testing.T) {
	r := awstest.Run(t, Stack, cfg(nil))
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)

	if n := len(r.OfType(typeSecret)); n != 3 {
		t.Fatalf("secrets = %d, want 3", n)
	}
	for _, s := range r.OfType(typeSecret) {
		if s.Inputs["kmsKeyId"] != keyArn {
			t.Errorf("%s kmsKeyId = %v, want the application key", s.Name, s.Inputs["kmsKeyId"])
		}
		if s.Inputs["name"] != s.Name || s.Inputs["recoveryWindowInDays"] != 7.0 {
			t.Errorf("%s = %v", s.Name, s.Inputs)
		}
	}
	outputs := map[string]string{
		"databaseMasterSecretArn": "-database-master", "jwtSigningKeyArn": "-jwt-signing-key", "sessionSecretArn": "-session-secret",
	}
	for out, suffix := range outputs {
		if v, _ := r.Values[out].(string); !strings.HasPrefix(v, "arn:aws:secretsmanager:") || !strings.HasSuffix(v, suffix) {
			t.Errorf("%s = %v", out, r.Values[out])
		}
	}

	master := r.One(t, typeVersion, "-database-master-value")
	if !master.Raw["secretString"].ContainsSecrets() {
		t.Error("database master value is not marked secret")
	}
	var cred map[string]string
	if err := json.Unmarshal([]byte(master.Inputs["secretString"].(string)), &cred); err != nil {
		t.Fatal(err)
	}
	if cred["username"] != "dbadmin" || len(cred["password"]) != 32 || cred["engine"] != "postgres" ||
		strings.ContainsAny(cred["password"], `/@" `) {
		t.Errorf("master credentials = %v", cred)
	}
	for _, p := range []string{"-jwt-signing-key-value", "-session-secret-value"} {
		v := r.One(t, typeVersion, p)
		b, err := base64.StdEncoding.DecodeString(v.Inputs["secretString"].(string))
		if err != nil || len(b) != 64 {
			t.Errorf("%s: %d bytes, %v", p, len(b), err)
		}
	}
	if n := len(r.OfType(typeRotation)); n != 0 {
		t.Errorf("rotations without a rotation function = %d", n)
	}
}

func TestSecrets_ReadPolicy(t *testing.T) {
	r := awstest.Run(t, Stack, cfg(map[string]any{"externalApiKeys": []any{"stripe"}}))
	r.AssertNamesAndTags(t)
	if s := r.One(t, typeSecret, "-api-key-stripe"); s.Inputs["kmsKeyId"] != keyArn {
		t.Errorf("api key secret = %v", s.Inputs)
	}
	if n := len(r.OfType(typeVersion)); n != 3 {
		t.Errorf("versions = %d, want 3 (external keys get their value outside)", n)
	}
	pol := r.One(t, typePolicy, "-secrets-read")
	var doc struct {
		Statement []struct {
			Effect    string
			Action    []string
			Resource  []string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(pol.Inputs["policy"].(string)), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 2 {
		t.Fatalf("policy = %+v", doc)
	}
	read := doc.Statement[0]
	if !reflect.DeepEqual(read.Action, []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}) || len(read.Resource) != 4 {
		t.Errorf("read statement = %+v, want 2 actions on the 4 secrets", read)
	}
	for _, res := range read.Resource {
		if !strings.HasPrefix(res, "arn:aws:secretsmanager:us-east-1:123456789012:d1a2b3c4-secrets-dev-") {
			t.Errorf("read resource %q", res)
		}
	}
	dec := doc.Statement[1]
	if !reflect.DeepEqual(dec.Action, []string{"kms:Decrypt"}) || !reflect.DeepEqual(dec.Resource, []string{keyArn}) ||
		dec.Condition["StringEquals"]["kms:ViaService"] != "secretsmanager.us-east-1.amazonaws.com" {
		t.Errorf("decrypt statement = %+v", dec)
	}
	if v, _ := r.Values["secretsReadPolicyArn"].(string); !strings.HasPrefix(v, "arn:aws:iam:") {
		t.Errorf("secretsReadPolicyArn = %v", r.Values["secretsReadPolicyArn"])
	}
}

func TestSecrets_Rotation(t *testing.T) {
	fn := "arn:aws:lambda:us-east-1:123456789012:function:rotate"
	r := awstest.Run(t, Stack, cfg(map[string]any{"rotationLambdaArn": fn, "rotationDays": 14.0}))
	rots := r.OfType(typeRotation)
	if len(rots) != 2 {
		t.Fatalf("rotations = %d, want 2 (database master, session)", len(rots))
	}
	for _, rot := range rots {
		rules, _ := rot.Inputs["rotationRules"].(map[string]any)
		if rot.Inputs["rotationLambdaArn"] != fn || rules["automaticallyAfterDays"] != 14.0 {
			t.Errorf("%s = %v", rot.Name, rot.Inputs)
		}
	}
	r.One(t, typeRotation, "-database-master-rotation")
	r.One(t, typeRotation, "-session-secret-rotation")
}

func TestSecrets_BadInputs(t *testing.T) {
	cases := []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{}, `"applicationKeyArn"`},
		{map[string]any{"applicationKeyArn": "alias/app"}, `"applicationKeyArn"`},
		{cfg(map[string]any{"rotationDays": 0.0}), `"rotationDays"`},
		{cfg(map[string]any{"externalApiKeys": []any{"Bad Name"}}), `"externalApiKeys"`},
		{cfg(map[string]any{"databaseMasterUsername": "1admin"}), `"databaseMasterUsername"`},
		{cfg(map[string]any{"recoveryWindowDays": 3.0}), `"recoveryWindowDays"`},
	}
	for _, tc := range cases {
		r := awstest.RunErr(t, Stack, tc.config)
		if !strings.Contains(r.Validation.Error, tc.want) {
			t.Errorf("config %v: error %q does not name %s", tc.config, r.Validation.Error, tc.want)
		}
	}
}

func TestSecrets_Validate(t *testing.T) {
	awstest.AssertValidates(t, Stack)
}
