package main

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
	"github.com/cloudplatform/cloud/sync/schema"
)

const (
	typeTable  = "aws:dynamodb/table:Table"
	typePool   = "aws:cognito/userPool:UserPool"
	typeGroup  = "aws:cognito/userGroup:UserGroup"
	typeClient = "aws:cognito/userPoolClient:UserPoolClient"
)

// wantKey reads the key of keys that is (or is not) the hash key.
func wantKey(keys []schema.Key, hash bool) string {
	for _, k := range keys {
		if k.Hash == hash {
			return k.Name
		}
	}
	return ""
}

func TestPlatform_TableMatchesSchema(t *testing.T) {
	r := awstest.Run(t, Stack, nil)
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)

	tbl := r.One(t, typeTable, "-table")
	in := tbl.Inputs
	if in["name"] != schema.DefaultTableName || in["billingMode"] != "PAY_PER_REQUEST" || in["deletionProtectionEnabled"] != true {
		t.Errorf("table = %v", in)
	}
	if in["hashKey"] != schema.PartitionKey || in["hashKey"] != wantKey(schema.TableKeys, true) ||
		in["rangeKey"] != schema.SortKey || in["rangeKey"] != wantKey(schema.TableKeys, false) {
		t.Errorf("keys = %v/%v, want %s/%s", in["hashKey"], in["rangeKey"], schema.PartitionKey, schema.SortKey)
	}

	attrs := map[string]any{}
	for _, a := range in["attributes"].([]any) {
		a := a.(map[string]any)
		attrs[a["name"].(string)] = a["type"]
	}
	want := map[string]any{}
	for _, k := range append(append([]schema.Key{}, schema.TableKeys...), schema.FeedKeys...) {
		want[k.Name] = schema.KeyType
	}
	if !reflect.DeepEqual(attrs, want) {
		t.Errorf("attributes = %v, want %v", attrs, want)
	}

	gsis, _ := in["globalSecondaryIndexes"].([]any)
	if len(gsis) != 1 {
		t.Fatalf("GSIs = %v", gsis)
	}
	gsi := gsis[0].(map[string]any)
	if gsi["name"] != schema.ChangeFeedIndex || gsi["hashKey"] != schema.FeedPartitionKey || gsi["hashKey"] != wantKey(schema.FeedKeys, true) ||
		gsi["rangeKey"] != schema.FeedSortKey || gsi["rangeKey"] != wantKey(schema.FeedKeys, false) || gsi["projectionType"] != "ALL" {
		t.Errorf("GSI = %v", gsi)
	}
	if ttl := in["ttl"].(map[string]any); ttl["attributeName"] != schema.TTLAttribute || ttl["enabled"] != true {
		t.Errorf("ttl = %v", ttl)
	}
	if pitr := in["pointInTimeRecovery"].(map[string]any); pitr["enabled"] != true {
		t.Errorf("point-in-time recovery = %v", pitr)
	}
	if sse := in["serverSideEncryption"].(map[string]any); sse["enabled"] != true {
		t.Errorf("encryption = %v", sse)
	}
	if r.Values["tableName"] != schema.DefaultTableName {
		t.Errorf("tableName output = %v", r.Values["tableName"])
	}
	if a, _ := r.Values["tableArn"].(string); !strings.HasPrefix(a, "arn:aws:dynamodb:us-east-1:123456789012:") {
		t.Errorf("tableArn = %v", r.Values["tableArn"])
	}
}

func TestPlatform_UserPool(t *testing.T) {
	r := awstest.Run(t, Stack, nil)
	pool := r.One(t, typePool, "-users")
	if pool.Inputs["name"] != "cloud-platform-users" || pool.Inputs["deletionProtection"] != "ACTIVE" {
		t.Errorf("pool = %v", pool.Inputs)
	}
	pp := pool.Inputs["passwordPolicy"].(map[string]any)
	if pp["minimumLength"].(float64) < 12 || pp["requireSymbols"] != true || pp["requireNumbers"] != true ||
		pp["requireUppercase"] != true || pp["requireLowercase"] != true {
		t.Errorf("password policy = %v", pp)
	}
	if acu := pool.Inputs["adminCreateUserConfig"].(map[string]any); acu["allowAdminCreateUserOnly"] != true {
		t.Errorf("self sign-up allowed: %v", acu)
	}

	poolID := "us-east-1_AbCdEfGhI" // what awskit.Mocks gives a Cognito pool, like AWS: region_random
	var names []string
	for _, g := range r.OfType(typeGroup) {
		names = append(names, g.Inputs["name"].(string))
		if g.Inputs["userPoolId"] != poolID {
			t.Errorf("group %v in pool %v", g.Inputs["name"], g.Inputs["userPoolId"])
		}
	}
	if !reflect.DeepEqual(names, []string{"admin", "deployer", "viewer"}) {
		t.Errorf("groups = %v", names)
	}
	if g := r.One(t, typeGroup, "-group-admin"); g.Inputs["precedence"] != 0.0 {
		t.Errorf("admin precedence = %v", g.Inputs["precedence"])
	}

	cl := r.One(t, typeClient, "-cli")
	if cl.Inputs["generateSecret"] != false || cl.Inputs["userPoolId"] != poolID ||
		!reflect.DeepEqual(cl.Inputs["explicitAuthFlows"], []any{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"}) {
		t.Errorf("client = %v", cl.Inputs)
	}

	if fmt.Sprint(r.Values["userPoolId"]) != poolID || fmt.Sprint(r.Values["userPoolClientId"]) != cl.Name+"-id" {
		t.Errorf("pool outputs = %v", r.Values)
	}
	issuer := "https://cognito-idp.us-east-1.amazonaws.com/" + poolID
	if r.Values["issuer"] != issuer || r.Values["jwksUrl"] != issuer+"/.well-known/jwks.json" {
		t.Errorf("issuer = %v, jwksUrl = %v", r.Values["issuer"], r.Values["jwksUrl"])
	}
}

func TestPlatform_Options(t *testing.T) {
	r := awstest.Run(t, Stack, map[string]any{"tableName": "acme-cloud", "userPoolName": "acme users", "deletionProtection": false})
	r.AssertOutputs(t)
	if tbl := r.One(t, typeTable, "-table"); tbl.Inputs["name"] != "acme-cloud" || tbl.Inputs["deletionProtectionEnabled"] != false {
		t.Errorf("table = %v", tbl.Inputs)
	}
	if p := r.One(t, typePool, "-users"); p.Inputs["name"] != "acme users" || p.Inputs["deletionProtection"] != "INACTIVE" {
		t.Errorf("pool = %v", p.Inputs)
	}
	if r.Values["tableName"] != "acme-cloud" {
		t.Errorf("tableName = %v", r.Values["tableName"])
	}
}

func TestPlatform_BadInputs(t *testing.T) {
	cases := []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"tableName": "x"}, `"tableName"`},
		{map[string]any{"tableName": "bad/name"}, `"tableName"`},
		{map[string]any{"userPoolName": "users<script>"}, `"userPoolName"`},
	}
	for _, tc := range cases {
		r := awstest.RunErr(t, Stack, tc.config)
		if !strings.Contains(r.Validation.Error, tc.want) {
			t.Errorf("config %v: error %q does not name %s", tc.config, r.Validation.Error, tc.want)
		}
	}
}

func TestPlatform_Validate(t *testing.T) {
	awstest.AssertValidates(t, Stack)
}
