package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cognito"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the authentication stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "authentication",
		Description:  "Cognito user pool with groups, web and admin app clients, hosted domain, identity pool with an authenticated role",
		Dependencies: []string{"security", "secrets"},
		Inputs: map[string]protocol.Input{
			"mfa":                {Type: protocol.TypeString, Default: "OPTIONAL", Description: "multi-factor authentication: OFF, OPTIONAL or ON (authenticator apps)"},
			"passwordMinLength":  {Type: protocol.TypeNumber, Default: 12.0, Description: "minimum password length (8 to 99); passwords also need upper and lower case, digits and symbols"},
			"deletionProtection": {Type: protocol.TypeBoolean, Default: true, Description: "refuse to delete the user pool (and its users) until this is turned off"},
			"groups":             {Type: protocol.TypeArray, Default: []any{"admin", "member"}, Description: "user pool groups, highest precedence first"},
			"callbackUrls": {Type: protocol.TypeArray, Default: []any{},
				Description: "OAuth callback URLs of the web client; empty (the default) means https://<domain>/auth/callback of the deployment's domain"},
			"adminCallbackUrls": {Type: protocol.TypeArray, Default: []any{},
				Description: "OAuth callback URLs of the admin client; empty (the default) means https://admin.<domain>/auth/callback"},
		},
		Outputs: map[string]protocol.Output{
			"userPoolId":     {Type: protocol.TypeString, Description: "ID of the Cognito user pool"},
			"userPoolArn":    {Type: protocol.TypeString, Description: "ARN of the Cognito user pool"},
			"webClientId":    {Type: protocol.TypeString, Description: "ID of the public web app client (no secret, authorization code flow)"},
			"adminClientId":  {Type: protocol.TypeString, Description: "ID of the admin app client (confidential, with a secret)"},
			"identityPoolId": {Type: protocol.TypeString, Description: "ID of the identity pool for signed-in users"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

var groupRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`)

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	mfa := strings.ToUpper(in.String("mfa"))
	minLen := in.Int("passwordMinLength")
	protect := in.Bool("deletionProtection")
	groups := in.StringList("groups")
	callbacks := in.StringList("callbackUrls")
	adminCallbacks := in.StringList("adminCallbackUrls")
	if err := in.Err(); err != nil {
		return err
	}
	if mfa != "OFF" && mfa != "OPTIONAL" && mfa != "ON" {
		return fmt.Errorf("input \"mfa\" must be OFF, OPTIONAL or ON, got %q", in.String("mfa"))
	}
	if minLen < 8 || minLen > 99 {
		return fmt.Errorf("input \"passwordMinLength\" must be between 8 and 99, got %d", minLen)
	}
	for _, g := range groups {
		if !groupRE.MatchString(g) {
			return fmt.Errorf("input \"groups\": %q is not a lower-case group name", g)
		}
	}
	var err error
	if callbacks, err = urls("callbackUrls", callbacks, c.Domain, "https://%s/auth/callback"); err != nil {
		return err
	}
	if adminCallbacks, err = urls("adminCallbackUrls", adminCallbacks, c.Domain, "https://admin.%s/auth/callback"); err != nil {
		return err
	}

	protection := "INACTIVE"
	if protect {
		protection = "ACTIVE"
	}
	poolName := awskit.NameMax(c, "users", 128)
	args := &cognito.UserPoolArgs{
		Name:                   pulumi.String(poolName),
		UsernameAttributes:     pulumi.StringArray{pulumi.String("email")},
		AutoVerifiedAttributes: pulumi.StringArray{pulumi.String("email")},
		MfaConfiguration:       pulumi.String(mfa),
		DeletionProtection:     pulumi.String(protection),
		PasswordPolicy: cognito.UserPoolPasswordPolicyArgs{
			MinimumLength:                 pulumi.Int(minLen),
			RequireLowercase:              pulumi.Bool(true),
			RequireUppercase:              pulumi.Bool(true),
			RequireNumbers:                pulumi.Bool(true),
			RequireSymbols:                pulumi.Bool(true),
			TemporaryPasswordValidityDays: pulumi.Int(3),
		},
		AccountRecoverySetting: cognito.UserPoolAccountRecoverySettingArgs{
			RecoveryMechanisms: cognito.UserPoolAccountRecoverySettingRecoveryMechanismArray{
				cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs{Name: pulumi.String("verified_email"), Priority: pulumi.Int(1)},
			},
		},
		Tags: awskit.NamedTags(c, poolName),
	}
	if mfa != "OFF" {
		// TOTP apps only: SMS needs an SNS role and is the weaker factor.
		args.SoftwareTokenMfaConfiguration = cognito.UserPoolSoftwareTokenMfaConfigurationArgs{Enabled: pulumi.Bool(true)}
	}
	pool, err := cognito.NewUserPool(ctx, poolName, args)
	if err != nil {
		return err
	}

	for i, g := range groups {
		if _, err := cognito.NewUserGroup(ctx, awskit.Name(c, "group-"+g), &cognito.UserGroupArgs{
			Name:        pulumi.String(g),
			UserPoolId:  pool.ID(),
			Description: pulumi.String(g + " users of " + awskit.Name(c, "")),
			Precedence:  pulumi.Int(i),
		}); err != nil {
			return err
		}
	}

	domainName := awskit.NameMax(c, "auth", 63)
	if _, err := cognito.NewUserPoolDomain(ctx, domainName, &cognito.UserPoolDomainArgs{
		Domain:     pulumi.String(domainName),
		UserPoolId: pool.ID(),
	}); err != nil {
		return err
	}

	web, err := newClient(ctx, c, pool, "web", false, callbacks)
	if err != nil {
		return err
	}
	admin, err := newClient(ctx, c, pool, "admin", true, adminCallbacks)
	if err != nil {
		return err
	}

	ipName := awskit.NameMax(c, "identities", 128)
	ip, err := cognito.NewIdentityPool(ctx, ipName, &cognito.IdentityPoolArgs{
		IdentityPoolName:               pulumi.String(ipName),
		AllowUnauthenticatedIdentities: pulumi.Bool(false),
		AllowClassicFlow:               pulumi.Bool(false),
		CognitoIdentityProviders: cognito.IdentityPoolCognitoIdentityProviderArray{
			cognito.IdentityPoolCognitoIdentityProviderArgs{ClientId: web.ID(), ProviderName: pool.Endpoint, ServerSideTokenCheck: pulumi.Bool(true)},
		},
		Tags: awskit.NamedTags(c, ipName),
	})
	if err != nil {
		return err
	}

	roleName := awskit.NameMax(c, "authenticated", 64)
	trust := ip.ID().ToStringOutput().ApplyT(func(id string) (string, error) { return trustPolicy(id) }).(pulumi.StringOutput)
	role, err := iam.NewRole(ctx, roleName, &iam.RoleArgs{
		Name:             pulumi.String(roleName),
		Description:      pulumi.String("signed-in users of the identity pool; grants nothing until a stack attaches a policy"),
		AssumeRolePolicy: trust,
		Tags:             awskit.NamedTags(c, roleName),
	})
	if err != nil {
		return err
	}
	if _, err := cognito.NewIdentityPoolRoleAttachment(ctx, awskit.Name(c, "identities-roles"), &cognito.IdentityPoolRoleAttachmentArgs{
		IdentityPoolId: ip.ID(),
		Roles:          pulumi.StringMap{"authenticated": role.Arn},
	}); err != nil {
		return err
	}

	out.Export("userPoolId", pool.ID())
	out.Export("userPoolArn", pool.Arn)
	out.Export("webClientId", web.ID())
	out.Export("adminClientId", admin.ID())
	out.Export("identityPoolId", ip.ID())
	return nil
}

// newClient is an authorization-code app client. The web client runs in
// browsers and cannot keep a secret; the admin client runs on a server.
func newClient(ctx *pulumi.Context, c protocol.Context, pool *cognito.UserPool, purpose string, secret bool, callbacks []string) (*cognito.UserPoolClient, error) {
	name := awskit.NameMax(c, purpose+"-client", 128)
	var logout pulumi.StringArray
	for _, cb := range callbacks {
		u, _ := url.Parse(cb) // validated by urls
		logout = append(logout, pulumi.String(u.Scheme+"://"+u.Host+"/"))
	}
	return cognito.NewUserPoolClient(ctx, name, &cognito.UserPoolClientArgs{
		Name:                            pulumi.String(name),
		UserPoolId:                      pool.ID(),
		GenerateSecret:                  pulumi.Bool(secret),
		ExplicitAuthFlows:               pulumi.ToStringArray([]string{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}),
		AllowedOauthFlowsUserPoolClient: pulumi.Bool(true),
		AllowedOauthFlows:               pulumi.ToStringArray([]string{"code"}),
		AllowedOauthScopes:              pulumi.ToStringArray([]string{"openid", "email", "profile"}),
		SupportedIdentityProviders:      pulumi.ToStringArray([]string{"COGNITO"}),
		CallbackUrls:                    pulumi.ToStringArray(callbacks),
		LogoutUrls:                      logout,
		PreventUserExistenceErrors:      pulumi.String("ENABLED"),
		EnableTokenRevocation:           pulumi.Bool(true),
		AccessTokenValidity:             pulumi.Int(60),
		IdTokenValidity:                 pulumi.Int(60),
		RefreshTokenValidity:            pulumi.Int(30),
		TokenValidityUnits: cognito.UserPoolClientTokenValidityUnitsArgs{
			AccessToken: pulumi.String("minutes"), IdToken: pulumi.String("minutes"), RefreshToken: pulumi.String("days"),
		},
	})
}

// urls checks the given callback URLs (https only, except for localhost
// during development) or derives the default from the deployment's domain.
func urls(input string, given []string, domain, pattern string) ([]string, error) {
	if len(given) == 0 {
		if domain == "" {
			return nil, fmt.Errorf("input %q is empty and the deployment has no domain to derive it from", input)
		}
		return []string{fmt.Sprintf(pattern, domain)}, nil
	}
	for _, s := range given {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && u.Hostname() == "localhost")) {
			return nil, fmt.Errorf("input %q: %q is not an https URL", input, s)
		}
	}
	return given, nil
}

// trustPolicy lets users signed in through this identity pool, and only
// authenticated ones, assume the role.
func trustPolicy(identityPoolID string) (string, error) {
	b, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": "cognito-identity.amazonaws.com"},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{
				"StringEquals":           map[string]any{"cognito-identity.amazonaws.com:aud": identityPoolID},
				"ForAnyValue:StringLike": map[string]any{"cognito-identity.amazonaws.com:amr": "authenticated"},
			},
		}},
	})
	return string(b), err
}
