package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigatewayv2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the services-api stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "services-api",
		Description:  "API Gateway HTTP API with a Cognito JWT authorizer, VPC link to the ALB, custom domain, usage throttling, WAF web ACL",
		Dependencies: []string{"network", "security", "authentication", "containers-apps"},
		Inputs: map[string]protocol.Input{
			"throttleRate":           {Type: protocol.TypeNumber, Default: 1000.0, Description: "steady-state requests per second the API accepts"},
			"throttleBurst":          {Type: protocol.TypeNumber, Default: 2000.0, Description: "requests the API accepts in a burst"},
			"corsOrigins":            {Type: protocol.TypeArray, Default: []any{}, Description: "origins browsers may call the API from (https://…); empty turns CORS off"},
			"wafRateLimit":           {Type: protocol.TypeNumber, Default: 2000.0, Description: "requests one client IP may make in 5 minutes before WAF blocks it"},
			"subdomain":              {Type: protocol.TypeString, Default: "api", Description: "name of the custom domain under the deployment's domain"},
			"logRetentionDays":       {Type: protocol.TypeNumber, Default: 30.0, Description: "days the access log group keeps its events"},
			"wildcardCertificateArn": {Type: protocol.TypeString, Default: "", Description: "ACM certificate of *.<domain> for the custom domain <subdomain>.<domain> (dns's wildcardCertificateArn); empty serves the API on its execute-api URL only"},
			"hostedZoneId":           {Type: protocol.TypeString, Default: "", Description: "Route53 zone the custom domain's record goes in (dns's hostedZoneId); empty creates no record"},
			"privateSubnetIds":       {Type: protocol.TypeArray, Required: true, Description: "subnets of the VPC link (network's privateSubnetIds)", Example: []any{"subnet-0111aaaa2222bbbbc", "subnet-0333cccc4444ddddf"}},
			"apiSgId":                {Type: protocol.TypeString, Required: true, Description: "security group of the VPC link (security's apiSgId)", Example: "sg-0a9b8c7d6e5f40312"},
			"userPoolId":             {Type: protocol.TypeString, Required: true, Description: "Cognito user pool that issues the tokens (authentication's userPoolId)", Example: "us-east-1_AbCdEfGhI"},
			"webClientId":            {Type: protocol.TypeString, Required: true, Description: "app client the tokens must be issued to (authentication's webClientId)", Example: "1example23456789abcdefghij"},
			"albArn":                 {Type: protocol.TypeString, Required: true, Description: "load balancer the API forwards to through its HTTPS listener (containers-apps's albArn)", Example: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/d0sample-containers-apps-dev-alb/50dc6c495c0c9188"},
		},
		Outputs: map[string]protocol.Output{
			"apiId":            {Type: protocol.TypeString, Description: "ID of the HTTP API"},
			"apiEndpoint":      {Type: protocol.TypeString, Description: "execute-api URL of the API"},
			"customDomainName": {Type: protocol.TypeString, Description: "custom domain of the API, empty when there is none"},
		},
	},
	Mocks:   awskit.Mocks{Calls: map[string]awskit.CallFunc{"aws:lb/getListener:getListener": listenerMock}},
	Program: program,
}

// apiTLSPolicy is the only TLS 1.2-minimum policy HTTP API domains offer.
const apiTLSPolicy = "TLS_1_2"

var retentionDays = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true,
	150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true,
	2922: true, 3288: true, 3653: true}

// listenerMock answers the HTTPS listener lookup of the load balancer
// under mocks with a listener ARN derived from the balancer's.
func listenerMock(m awskit.Mocks, args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	lbArn := args.Args["loadBalancerArn"].StringValue()
	arn := strings.Replace(lbArn, ":loadbalancer/", ":listener/", 1) + "/f2f7dc8efc522ab2"
	return resource.PropertyMap{
		"arn": resource.NewStringProperty(arn), "id": resource.NewStringProperty(arn),
		"loadBalancerArn": resource.NewStringProperty(lbArn), "port": args.Args["port"],
		"protocol": resource.NewStringProperty("HTTPS"),
	}, nil
}

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	rate := in.Number("throttleRate")
	burst := in.Int("throttleBurst")
	origins := in.StringList("corsOrigins")
	wafLimit := in.Int("wafRateLimit")
	subdomain := in.String("subdomain")
	retention := in.Int("logRetentionDays")
	certArn := in.String("wildcardCertificateArn")
	zoneID := in.String("hostedZoneId")
	subnets := in.StringList("privateSubnetIds")
	sg := in.String("apiSgId")
	poolID := in.String("userPoolId")
	clientID := in.String("webClientId")
	albArn := in.String("albArn")
	if err := in.Err(); err != nil {
		return err
	}
	switch {
	case rate <= 0 || rate > 1e6:
		return fmt.Errorf("input \"throttleRate\" must be above 0 and at most 1000000, got %v", rate)
	case burst < 1 || burst > 1e6:
		return fmt.Errorf("input \"throttleBurst\" must be between 1 and 1000000, got %d", burst)
	case wafLimit < 10 || wafLimit > 2000000000:
		return fmt.Errorf("input \"wafRateLimit\" must be between 10 and 2000000000, got %d", wafLimit)
	case !retentionDays[retention]:
		return fmt.Errorf("input \"logRetentionDays\": %d is not a CloudWatch Logs retention period", retention)
	case len(subnets) == 0:
		return fmt.Errorf("input \"privateSubnetIds\" lists no subnet")
	case !strings.Contains(poolID, "_"):
		return fmt.Errorf("input \"userPoolId\": %q is not a Cognito user pool ID (<region>_<id>)", poolID)
	case !strings.HasPrefix(albArn, "arn:") || !strings.Contains(albArn, ":loadbalancer/app/"):
		return fmt.Errorf("input \"albArn\": %q is not the ARN of an application load balancer", albArn)
	case certArn != "" && !strings.HasPrefix(certArn, "arn:"):
		return fmt.Errorf("input \"wildcardCertificateArn\": %q is not an ARN", certArn)
	case certArn != "" && c.Domain == "":
		return fmt.Errorf("input \"wildcardCertificateArn\" is set but the deployment has no domain for the custom domain")
	case certArn != "" && (subdomain == "" || strings.Contains(subdomain, ".")):
		return fmt.Errorf("input \"subdomain\": the wildcard certificate covers one label under the domain; got %q", subdomain)
	case zoneID != "" && certArn == "":
		return fmt.Errorf("input \"hostedZoneId\" is set but \"wildcardCertificateArn\" is not; a DNS record needs the custom domain")
	}
	for i, o := range origins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("input \"corsOrigins[%d]\": %q is not an origin like https://app.example.com", i, o)
		}
	}

	listener, err := lb.LookupListener(ctx, &lb.LookupListenerArgs{LoadBalancerArn: pulumi.StringRef(albArn), Port: pulumi.IntRef(443)})
	if err != nil {
		return fmt.Errorf("find the HTTPS listener of %s: %w", albArn, err)
	}

	apiName := awskit.NameMax(c, "api", 128)
	args := &apigatewayv2.ApiArgs{
		Name:         pulumi.String(apiName),
		ProtocolType: pulumi.String("HTTP"),
		Description:  pulumi.String("API of " + awskit.Name(c, "")),
		// With a custom domain, clients use it alone, so WAF-style
		// controls cannot be bypassed through the default URL.
		DisableExecuteApiEndpoint: pulumi.Bool(certArn != ""),
		Tags:                      awskit.NamedTags(c, apiName),
	}
	if len(origins) > 0 {
		args.CorsConfiguration = apigatewayv2.ApiCorsConfigurationArgs{
			AllowOrigins:     pulumi.ToStringArray(origins),
			AllowMethods:     pulumi.ToStringArray([]string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}),
			AllowHeaders:     pulumi.ToStringArray([]string{"authorization", "content-type"}),
			AllowCredentials: pulumi.Bool(true),
			MaxAge:           pulumi.Int(3600),
		}
	}
	api, err := apigatewayv2.NewApi(ctx, apiName, args)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}

	issuer := fmt.Sprintf("https://cognito-idp.%s.amazonaws.com/%s", c.Region, poolID)
	auth, err := apigatewayv2.NewAuthorizer(ctx, awskit.Name(c, "cognito"), &apigatewayv2.AuthorizerArgs{
		ApiId:           api.ID(),
		Name:            pulumi.String("cognito"),
		AuthorizerType:  pulumi.String("JWT"),
		IdentitySources: pulumi.StringArray{pulumi.String("$request.header.Authorization")},
		JwtConfiguration: apigatewayv2.AuthorizerJwtConfigurationArgs{
			Issuer: pulumi.String(issuer), Audiences: pulumi.StringArray{pulumi.String(clientID)},
		},
	})
	if err != nil {
		return fmt.Errorf("authorizer: %w", err)
	}

	linkName := awskit.NameMax(c, "link", 128)
	link, err := apigatewayv2.NewVpcLink(ctx, linkName, &apigatewayv2.VpcLinkArgs{
		Name: pulumi.String(linkName), SubnetIds: pulumi.ToStringArray(subnets),
		SecurityGroupIds: pulumi.StringArray{pulumi.String(sg)}, Tags: awskit.NamedTags(c, linkName),
	})
	if err != nil {
		return fmt.Errorf("vpc link: %w", err)
	}
	integ, err := apigatewayv2.NewIntegration(ctx, awskit.Name(c, "alb"), &apigatewayv2.IntegrationArgs{
		ApiId:                api.ID(),
		IntegrationType:      pulumi.String("HTTP_PROXY"),
		IntegrationMethod:    pulumi.String("ANY"),
		IntegrationUri:       pulumi.String(listener.Arn),
		ConnectionType:       pulumi.String("VPC_LINK"),
		ConnectionId:         link.ID(),
		PayloadFormatVersion: pulumi.String("1.0"),
		TimeoutMilliseconds:  pulumi.Int(29000),
	})
	if err != nil {
		return fmt.Errorf("integration: %w", err)
	}
	target := pulumi.Sprintf("integrations/%s", integ.ID())
	if _, err := apigatewayv2.NewRoute(ctx, awskit.Name(c, "route-proxy"), &apigatewayv2.RouteArgs{
		ApiId: api.ID(), RouteKey: pulumi.String("ANY /{proxy+}"), Target: target,
		AuthorizationType: pulumi.String("JWT"), AuthorizerId: auth.ID(),
	}); err != nil {
		return fmt.Errorf("proxy route: %w", err)
	}
	// Load balancer and uptime checks carry no token.
	if _, err := apigatewayv2.NewRoute(ctx, awskit.Name(c, "route-health"), &apigatewayv2.RouteArgs{
		ApiId: api.ID(), RouteKey: pulumi.String("GET /health"), Target: target, AuthorizationType: pulumi.String("NONE"),
	}); err != nil {
		return fmt.Errorf("health route: %w", err)
	}

	logName := "/cloud/" + awskit.Name(c, "access")
	logs, err := cloudwatch.NewLogGroup(ctx, awskit.Name(c, "access-logs"), &cloudwatch.LogGroupArgs{
		Name: pulumi.String(logName), RetentionInDays: pulumi.Int(retention), Tags: awskit.NamedTags(c, logName),
	})
	if err != nil {
		return fmt.Errorf("access log group: %w", err)
	}
	format, _ := json.Marshal(map[string]string{
		"requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "time": "$context.requestTime",
		"method": "$context.httpMethod", "path": "$context.path", "status": "$context.status",
		"latency": "$context.responseLatency", "integrationError": "$context.integrationErrorMessage",
		"authorizerError": "$context.authorizer.error", "user": "$context.authorizer.claims.sub",
	})
	stage, err := apigatewayv2.NewStage(ctx, awskit.Name(c, "stage"), &apigatewayv2.StageArgs{
		ApiId: api.ID(), Name: pulumi.String("$default"), AutoDeploy: pulumi.Bool(true),
		DefaultRouteSettings: apigatewayv2.StageDefaultRouteSettingsArgs{
			ThrottlingRateLimit: pulumi.Float64(rate), ThrottlingBurstLimit: pulumi.Int(burst), DetailedMetricsEnabled: pulumi.Bool(true),
		},
		AccessLogSettings: apigatewayv2.StageAccessLogSettingsArgs{DestinationArn: logs.Arn, Format: pulumi.String(string(format))},
		Tags:              awskit.NamedTags(c, awskit.Name(c, "stage")),
	})
	if err != nil {
		return fmt.Errorf("stage: %w", err)
	}

	if err := webACL(ctx, c, albArn, wafLimit); err != nil {
		return err
	}

	custom := pulumi.String("").ToStringOutput()
	if certArn != "" {
		host := subdomain + "." + c.Domain
		dn, err := apigatewayv2.NewDomainName(ctx, awskit.Name(c, "domain"), &apigatewayv2.DomainNameArgs{
			DomainName: pulumi.String(host),
			DomainNameConfiguration: apigatewayv2.DomainNameDomainNameConfigurationArgs{
				CertificateArn: pulumi.String(certArn), EndpointType: pulumi.String("REGIONAL"), SecurityPolicy: pulumi.String(apiTLSPolicy),
			},
			Tags: awskit.NamedTags(c, host),
		})
		if err != nil {
			return fmt.Errorf("custom domain: %w", err)
		}
		if _, err := apigatewayv2.NewApiMapping(ctx, awskit.Name(c, "mapping"), &apigatewayv2.ApiMappingArgs{
			ApiId: api.ID(), DomainName: dn.DomainName, Stage: stage.Name,
		}); err != nil {
			return fmt.Errorf("api mapping: %w", err)
		}
		if zoneID != "" {
			cfg := dn.DomainNameConfiguration
			if _, err := route53.NewRecord(ctx, awskit.Name(c, "dns"), &route53.RecordArgs{
				ZoneId: pulumi.String(zoneID), Name: pulumi.String(host), Type: pulumi.String("A"),
				Aliases: route53.RecordAliasArray{route53.RecordAliasArgs{
					Name: cfg.TargetDomainName().Elem(), ZoneId: cfg.HostedZoneId().Elem(), EvaluateTargetHealth: pulumi.Bool(false),
				}},
			}); err != nil {
				return fmt.Errorf("dns record: %w", err)
			}
		}
		custom = dn.DomainName
	}

	out.Export("apiId", api.ID())
	out.Export("apiEndpoint", api.ApiEndpoint)
	out.Export("customDomainName", custom)
	return nil
}

// webACL protects the API's backend with AWS managed rule groups and a
// per-IP rate limit. AWS WAF cannot be associated with an HTTP API stage
// (only REST API stages), so the ACL sits on the load balancer every API
// request goes through.
func webACL(ctx *pulumi.Context, c protocol.Context, albArn string, limit int) error {
	name := awskit.NameMax(c, "waf", 128)
	visibility := func(metric string) wafv2.WebAclRuleVisibilityConfigArgs {
		return wafv2.WebAclRuleVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true), SampledRequestsEnabled: pulumi.Bool(true), MetricName: pulumi.String(metric),
		}
	}
	var rules wafv2.WebAclRuleArray
	for i, group := range []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"} {
		rules = append(rules, wafv2.WebAclRuleArgs{
			Name:           pulumi.String(group),
			Priority:       pulumi.Int(i + 1),
			OverrideAction: wafv2.WebAclRuleOverrideActionArgs{None: wafv2.WebAclRuleOverrideActionNoneArgs{}},
			Statement: wafv2.WebAclRuleStatementArgs{ManagedRuleGroupStatement: wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs{
				Name: pulumi.String(group), VendorName: pulumi.String("AWS"),
			}},
			VisibilityConfig: visibility(group),
		})
	}
	rules = append(rules, wafv2.WebAclRuleArgs{
		Name:     pulumi.String("RateLimitPerIp"),
		Priority: pulumi.Int(10),
		Action:   wafv2.WebAclRuleActionArgs{Block: wafv2.WebAclRuleActionBlockArgs{}},
		Statement: wafv2.WebAclRuleStatementArgs{RateBasedStatement: wafv2.WebAclRuleStatementRateBasedStatementArgs{
			Limit: pulumi.Int(limit), AggregateKeyType: pulumi.String("IP"),
		}},
		VisibilityConfig: visibility("RateLimitPerIp"),
	})
	acl, err := wafv2.NewWebAcl(ctx, name, &wafv2.WebAclArgs{
		Name:          pulumi.String(name),
		Scope:         pulumi.String("REGIONAL"),
		DefaultAction: wafv2.WebAclDefaultActionArgs{Allow: wafv2.WebAclDefaultActionAllowArgs{}},
		Rules:         rules,
		VisibilityConfig: wafv2.WebAclVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true), SampledRequestsEnabled: pulumi.Bool(true), MetricName: pulumi.String(name),
		},
		Tags: awskit.NamedTags(c, name),
	})
	if err != nil {
		return fmt.Errorf("web acl: %w", err)
	}
	if _, err := wafv2.NewWebAclAssociation(ctx, name+"-alb", &wafv2.WebAclAssociationArgs{
		ResourceArn: pulumi.String(albArn), WebAclArn: acl.Arn,
	}); err != nil {
		return fmt.Errorf("web acl association: %w", err)
	}
	return nil
}
