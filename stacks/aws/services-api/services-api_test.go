package main

import (
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

const (
	albArn  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/d1a2b3c4-containers-apps-dev-alb/50dc6c495c0c9188"
	certArn = "arn:aws:acm:us-east-1:123456789012:certificate/abcd1234-ab12-cd34-ef56-abcdef123456"
)

func config(extra map[string]any) map[string]any {
	c := map[string]any{
		"privateSubnetIds": []any{"subnet-0111aaaa2222bbbbc", "subnet-0333cccc4444ddddf"},
		"apiSgId":          "sg-0a9b8c7d6e5f40312",
		"userPoolId":       "us-east-1_AbCdEfGhI",
		"webClientId":      "1example23456789abcdefghij",
		"albArn":           albArn,
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestStack_Defaults(t *testing.T) {
	r := awstest.Run(t, Stack, config(nil))

	api := r.One(t, "aws:apigatewayv2/api:Api", "-api")
	if api.Inputs["protocolType"] != "HTTP" || api.Inputs["corsConfiguration"] != nil || api.Inputs["disableExecuteApiEndpoint"] != false {
		t.Errorf("api = %v, want HTTP, no CORS, execute-api endpoint on", api.Inputs)
	}
	auth := r.One(t, "aws:apigatewayv2/authorizer:Authorizer", "-cognito")
	jwt := auth.Inputs["jwtConfiguration"].(map[string]any)
	if auth.Inputs["authorizerType"] != "JWT" || jwt["issuer"] != "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI" {
		t.Errorf("authorizer = %v", auth.Inputs)
	}
	if aud := jwt["audiences"].([]any); len(aud) != 1 || aud[0] != "1example23456789abcdefghij" {
		t.Errorf("audiences = %v, want the web client", aud)
	}
	link := r.One(t, "aws:apigatewayv2/vpcLink:VpcLink", "-link")
	if link.Inputs["securityGroupIds"].([]any)[0] != "sg-0a9b8c7d6e5f40312" || len(link.Inputs["subnetIds"].([]any)) != 2 {
		t.Errorf("vpc link = %v", link.Inputs)
	}
	integ := r.One(t, "aws:apigatewayv2/integration:Integration", "-alb")
	if integ.Inputs["connectionType"] != "VPC_LINK" || integ.Inputs["integrationType"] != "HTTP_PROXY" ||
		integ.Inputs["integrationUri"] != "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/d1a2b3c4-containers-apps-dev-alb/50dc6c495c0c9188/f2f7dc8efc522ab2" {
		t.Errorf("integration = %v, want the ALB's HTTPS listener through the VPC link", integ.Inputs)
	}
	proxy := r.One(t, "aws:apigatewayv2/route:Route", "-route-proxy")
	if proxy.Inputs["routeKey"] != "ANY /{proxy+}" || proxy.Inputs["authorizationType"] != "JWT" || proxy.Inputs["authorizerId"] == nil {
		t.Errorf("proxy route = %v, want JWT-authorized", proxy.Inputs)
	}
	if h := r.One(t, "aws:apigatewayv2/route:Route", "-route-health"); h.Inputs["authorizationType"] != "NONE" {
		t.Errorf("health route = %v", h.Inputs)
	}
	stage := r.One(t, "aws:apigatewayv2/stage:Stage", "-stage")
	rs := stage.Inputs["defaultRouteSettings"].(map[string]any)
	if rs["throttlingRateLimit"] != 1000.0 || rs["throttlingBurstLimit"] != 2000.0 || stage.Inputs["autoDeploy"] != true {
		t.Errorf("stage = %v", stage.Inputs)
	}
	if !strings.HasSuffix(stage.Inputs["accessLogSettings"].(map[string]any)["destinationArn"].(string), "-access-logs") {
		t.Errorf("access logs = %v", stage.Inputs["accessLogSettings"])
	}

	acl := r.One(t, "aws:wafv2/webAcl:WebAcl", "-waf")
	if acl.Inputs["scope"] != "REGIONAL" {
		t.Errorf("web acl scope = %v", acl.Inputs["scope"])
	}
	groups := map[string]bool{}
	for _, rule := range acl.Inputs["rules"].([]any) {
		st := rule.(map[string]any)["statement"].(map[string]any)
		if mg, ok := st["managedRuleGroupStatement"].(map[string]any); ok && mg["vendorName"] == "AWS" {
			groups[mg["name"].(string)] = true
		}
		if rb, ok := st["rateBasedStatement"].(map[string]any); ok && rb["limit"] != 2000.0 {
			t.Errorf("rate limit = %v, want 2000", rb["limit"])
		}
	}
	if !groups["AWSManagedRulesCommonRuleSet"] || !groups["AWSManagedRulesKnownBadInputsRuleSet"] || !groups["AWSManagedRulesAmazonIpReputationList"] {
		t.Errorf("managed rule groups = %v", groups)
	}
	assoc := r.One(t, "aws:wafv2/webAclAssociation:WebAclAssociation", "-waf-alb")
	if assoc.Inputs["resourceArn"] != albArn || !strings.HasSuffix(assoc.Inputs["webAclArn"].(string), "-waf") {
		t.Errorf("web acl association = %v", assoc.Inputs)
	}
	if n := len(r.OfType("aws:apigatewayv2/domainName:DomainName")); n != 0 {
		t.Errorf("custom domains = %d without a certificate", n)
	}
	if r.Values["customDomainName"] != "" || !strings.HasPrefix(r.Values["apiEndpoint"].(string), "https://") {
		t.Errorf("outputs = %v", r.Values)
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
}

func TestStack_CustomDomainAndCors(t *testing.T) {
	r := awstest.Run(t, Stack, config(map[string]any{
		"wildcardCertificateArn": certArn, "hostedZoneId": "Z0123456789ABCDEFGHIJ",
		"corsOrigins": []any{"https://app.example.com"}, "throttleRate": 50.0, "throttleBurst": 100.0,
	}))
	dn := r.One(t, "aws:apigatewayv2/domainName:DomainName", "-domain")
	cfg := dn.Inputs["domainNameConfiguration"].(map[string]any)
	if dn.Inputs["domainName"] != "api.example.com" || cfg["certificateArn"] != certArn || cfg["securityPolicy"] != "TLS_1_2" || cfg["endpointType"] != "REGIONAL" {
		t.Errorf("domain = %v", dn.Inputs)
	}
	if m := r.One(t, "aws:apigatewayv2/apiMapping:ApiMapping", "-mapping"); m.Inputs["stage"] != "$default" {
		t.Errorf("mapping = %v", m.Inputs)
	}
	if rec := r.One(t, "aws:route53/record:Record", "-dns"); rec.Inputs["name"] != "api.example.com" || rec.Inputs["zoneId"] != "Z0123456789ABCDEFGHIJ" {
		t.Errorf("record = %v", rec.Inputs)
	}
	api := r.One(t, "aws:apigatewayv2/api:Api", "-api")
	if api.Inputs["disableExecuteApiEndpoint"] != true {
		t.Error("execute-api endpoint stays on with a custom domain")
	}
	if o := api.Inputs["corsConfiguration"].(map[string]any)["allowOrigins"].([]any); len(o) != 1 || o[0] != "https://app.example.com" {
		t.Errorf("cors origins = %v", o)
	}
	rs := r.One(t, "aws:apigatewayv2/stage:Stage", "-stage").Inputs["defaultRouteSettings"].(map[string]any)
	if rs["throttlingRateLimit"] != 50.0 || rs["throttlingBurstLimit"] != 100.0 {
		t.Errorf("throttling = %v", rs)
	}
	if r.Values["customDomainName"] != "api.example.com" {
		t.Errorf("customDomainName = %v", r.Values["customDomainName"])
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
}

func TestStack_BadInputs(t *testing.T) {
	for _, tc := range []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"throttleRate": 0.0}, "throttleRate"},
		{map[string]any{"throttleBurst": -1.0}, "throttleBurst"},
		{map[string]any{"corsOrigins": []any{"*"}}, "corsOrigins[0]"},
		{map[string]any{"userPoolId": "pool"}, "userPoolId"},
		{map[string]any{"albArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/1"}, "albArn"},
		{map[string]any{"hostedZoneId": "Z0123456789ABCDEFGHIJ"}, "hostedZoneId"},
		{map[string]any{"wildcardCertificateArn": certArn, "subdomain": ""}, "subdomain"},
		{map[string]any{"wildcardCertificateArn": "cert"}, "wildcardCertificateArn"},
		{map[string]any{"wafRateLimit": 1.0}, "wafRateLimit"},
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
