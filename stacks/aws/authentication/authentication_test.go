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
	typePool       = "aws:cognito/userPool:UserPool"
	typeGroup      = "aws:cognito/userGroup:UserGroup"
	typeClient     = "aws:cognito/userPoolClient:UserPoolClient"
	typeDomain     = "aws:cognito/userPoolDomain:UserPoolDomain"
	typeIdentities = "aws:cognito/identityPool:IdentityPool"
	typeAttachment = "aws:cognito/identityPoolRoleAttachment:IdentityPoolRoleAttachment"
	typeRole       = "aws:iam/role:Role"

	poolID = "us-east-1_AbCdEfGhI" // what awskit.Mocks gives a Cognito pool, like AWS: region_random

	// endpoint is what awskit mocks for the pool's endpoint.
	endpoint = "cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI"
)

func TestAuthentication_Defaults(t *testing.T) {
	r := awstest.Run(t, Stack, nil)
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)

	pool := r.One(t, typePool, "-users")
	if pool.Inputs["name"] != "d1a2b3c4-authentication-dev-users" || pool.Inputs["deletionProtection"] != "ACTIVE" ||
		pool.Inputs["mfaConfiguration"] != "OPTIONAL" {
		t.Errorf("pool = %v", pool.Inputs)
	}
	pp, _ := pool.Inputs["passwordPolicy"].(map[string]any)
	for _, k := range []string{"requireLowercase", "requireUppercase", "requireNumbers", "requireSymbols"} {
		if pp[k] != true {
			t.Errorf("password policy %s = %v", k, pp[k])
		}
	}
	if pp["minimumLength"] != 12.0 {
		t.Errorf("minimumLength = %v", pp["minimumLength"])
	}
	if totp, _ := pool.Inputs["softwareTokenMfaConfiguration"].(map[string]any); totp["enabled"] != true {
		t.Errorf("TOTP MFA = %v", pool.Inputs["softwareTokenMfaConfiguration"])
	}

	groups := r.OfType(typeGroup)
	if len(groups) != 2 {
		t.Fatalf("groups = %d", len(groups))
	}
	if g := r.One(t, typeGroup, "-group-admin"); g.Inputs["name"] != "admin" || g.Inputs["precedence"] != 0.0 || g.Inputs["userPoolId"] != poolID {
		t.Errorf("admin group = %v", g.Inputs)
	}

	web := r.One(t, typeClient, "-web-client")
	admin := r.One(t, typeClient, "-admin-client")
	if web.Inputs["generateSecret"] != false || admin.Inputs["generateSecret"] != true {
		t.Errorf("secrets: web %v, admin %v", web.Inputs["generateSecret"], admin.Inputs["generateSecret"])
	}
	if !reflect.DeepEqual(web.Inputs["callbackUrls"], []any{"https://example.com/auth/callback"}) ||
		!reflect.DeepEqual(admin.Inputs["callbackUrls"], []any{"https://admin.example.com/auth/callback"}) {
		t.Errorf("callbacks: web %v, admin %v", web.Inputs["callbackUrls"], admin.Inputs["callbackUrls"])
	}
	for _, cl := range []awstest.Resource{web, admin} {
		if !reflect.DeepEqual(cl.Inputs["allowedOauthFlows"], []any{"code"}) || cl.Inputs["userPoolId"] != poolID ||
			!reflect.DeepEqual(cl.Inputs["explicitAuthFlows"], []any{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}) {
			t.Errorf("%s = %v", cl.Name, cl.Inputs)
		}
	}

	if d := r.One(t, typeDomain, "-auth"); d.Inputs["domain"] != "d1a2b3c4-authentication-dev-auth" || d.Inputs["userPoolId"] != poolID {
		t.Errorf("domain = %v", d.Inputs)
	}

	ip := r.One(t, typeIdentities, "-identities")
	if ip.Inputs["allowUnauthenticatedIdentities"] != false {
		t.Errorf("identity pool allows guests")
	}
	provs, _ := ip.Inputs["cognitoIdentityProviders"].([]any)
	if len(provs) != 1 || provs[0].(map[string]any)["providerName"] != endpoint ||
		provs[0].(map[string]any)["clientId"] != web.Name+"-id" {
		t.Errorf("identity providers = %v", provs)
	}

	role := r.One(t, typeRole, "-authenticated")
	var trust struct {
		Statement []struct {
			Principal map[string]string
			Action    string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(role.Inputs["assumeRolePolicy"].(string)), &trust); err != nil {
		t.Fatal(err)
	}
	st := trust.Statement[0]
	if st.Principal["Federated"] != "cognito-identity.amazonaws.com" || st.Action != "sts:AssumeRoleWithWebIdentity" ||
		st.Condition["StringEquals"]["cognito-identity.amazonaws.com:aud"] != ip.Name+"-id" ||
		st.Condition["ForAnyValue:StringLike"]["cognito-identity.amazonaws.com:amr"] != "authenticated" {
		t.Errorf("trust = %+v", trust)
	}
	att := r.One(t, typeAttachment, "-identities-roles")
	if roles, _ := att.Inputs["roles"].(map[string]any); !strings.HasSuffix(roles["authenticated"].(string), "-authenticated") {
		t.Errorf("role attachment = %v", att.Inputs)
	}

	if fmt.Sprint(r.Values["userPoolId"]) != poolID || fmt.Sprint(r.Values["webClientId"]) != web.Name+"-id" ||
		fmt.Sprint(r.Values["adminClientId"]) != admin.Name+"-id" || fmt.Sprint(r.Values["identityPoolId"]) != ip.Name+"-id" {
		t.Errorf("outputs = %v", r.Values)
	}
}

func TestAuthentication_Options(t *testing.T) {
	r := awstest.Run(t, Stack, map[string]any{"mfa": "off", "passwordMinLength": 16.0, "deletionProtection": false,
		"groups": []any{"owner", "editor", "viewer"}, "callbackUrls": []any{"http://localhost:3000/cb", "https://app.example.org/cb"}})
	pool := r.One(t, typePool, "-users")
	if pool.Inputs["mfaConfiguration"] != "OFF" || pool.Inputs["deletionProtection"] != "INACTIVE" || pool.Inputs["softwareTokenMfaConfiguration"] != nil {
		t.Errorf("pool = %v", pool.Inputs)
	}
	if pp := pool.Inputs["passwordPolicy"].(map[string]any); pp["minimumLength"] != 16.0 {
		t.Errorf("minimumLength = %v", pp["minimumLength"])
	}
	if len(r.OfType(typeGroup)) != 3 || r.One(t, typeGroup, "-group-viewer").Inputs["precedence"] != 2.0 {
		t.Errorf("groups = %v", r.OfType(typeGroup))
	}
	web := r.One(t, typeClient, "-web-client")
	if !reflect.DeepEqual(web.Inputs["logoutUrls"], []any{"http://localhost:3000/", "https://app.example.org/"}) {
		t.Errorf("logout urls = %v", web.Inputs["logoutUrls"])
	}
}

func TestAuthentication_BadInputs(t *testing.T) {
	cases := []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"mfa": "SMS"}, `"mfa"`},
		{map[string]any{"passwordMinLength": 6.0}, `"passwordMinLength"`},
		{map[string]any{"groups": []any{"Admins!"}}, `"groups"`},
		{map[string]any{"callbackUrls": []any{"http://example.com/cb"}}, `"callbackUrls"`},
	}
	for _, tc := range cases {
		r := awstest.RunErr(t, Stack, tc.config)
		if !strings.Contains(r.Validation.Error, tc.want) {
			t.Errorf("config %v: error %q does not name %s", tc.config, r.Validation.Error, tc.want)
		}
	}
}

func TestAuthentication_Validate(t *testing.T) {
	awstest.AssertValidates(t, Stack)
}
