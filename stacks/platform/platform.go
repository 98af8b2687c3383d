package main

import (
	"fmt"
	"regexp"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/cloudplatform/cloud/sync/schema"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cognito"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dynamodb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the platform stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:        "platform",
		Description: "what cloud itself needs in the team's account: the sync DynamoDB table and the Cognito user pool with admin, deployer and viewer groups and a CLI/server app client",
		Inputs: map[string]protocol.Input{
			"tableName":          {Type: protocol.TypeString, Default: schema.DefaultTableName, Description: "name of the sync DynamoDB table"},
			"userPoolName":       {Type: protocol.TypeString, Default: "cloud-platform-users", Description: "name of the Cognito user pool of cloud's users"},
			"deletionProtection": {Type: protocol.TypeBoolean, Default: true, Description: "refuse to delete the table and the user pool until this is turned off"},
		},
		Outputs: map[string]protocol.Output{
			"tableName":        {Type: protocol.TypeString, Description: "name of the sync table"},
			"tableArn":         {Type: protocol.TypeString, Description: "ARN of the sync table"},
			"userPoolId":       {Type: protocol.TypeString, Description: "ID of the user pool"},
			"userPoolClientId": {Type: protocol.TypeString, Description: "ID of the public app client the CLI and the server sign in with"},
			"jwksUrl":          {Type: protocol.TypeString, Description: "URL of the user pool's JSON web key set, to verify tokens"},
			"issuer":           {Type: protocol.TypeString, Description: "issuer (iss claim) of the user pool's tokens"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

// groups are cloud's roles, most privileged first (lowest precedence wins
// when a user is in several).
var groups = []struct{ name, desc string }{
	{"admin", "manage the team, its deployments and settings"},
	{"deployer", "run deployments"},
	{"viewer", "read deployments and their history"},
}

var (
	tableNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
	poolNameRE  = regexp.MustCompile(`^[\w\s+=,.@-]{1,128}$`)
)

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	tableName := in.String("tableName")
	poolName := in.String("userPoolName")
	protect := in.Bool("deletionProtection")
	if err := in.Err(); err != nil {
		return err
	}
	if !tableNameRE.MatchString(tableName) {
		return fmt.Errorf("input \"tableName\": %q is not a DynamoDB table name (3 to 255 letters, digits, _ . -)", tableName)
	}
	if !poolNameRE.MatchString(poolName) {
		return fmt.Errorf("input \"userPoolName\": %q is not a Cognito user pool name (1 to 128 word characters, spaces or +=,.@-)", poolName)
	}
	region := c.Region
	if region == "" {
		r, err := aws.GetRegion(ctx, nil)
		if err != nil {
			return fmt.Errorf("look up region: %w", err)
		}
		region = r.Name
	}

	table, err := newTable(ctx, c, tableName, protect)
	if err != nil {
		return err
	}
	pool, client, err := newUserPool(ctx, c, poolName, protect)
	if err != nil {
		return err
	}

	issuer := pulumi.Sprintf("https://cognito-idp.%s.amazonaws.com/%s", region, pool.ID())
	out.Export("tableName", table.Name)
	out.Export("tableArn", table.Arn)
	out.Export("userPoolId", pool.ID())
	out.Export("userPoolClientId", client.ID())
	out.Export("jwksUrl", pulumi.Sprintf("%s/.well-known/jwks.json", issuer))
	out.Export("issuer", issuer)
	return nil
}

// keySchema splits a schema key list into its hash and range attribute.
func keySchema(keys []schema.Key) (hash, rng string) {
	for _, k := range keys {
		if k.Hash {
			hash = k.Name
		} else {
			rng = k.Name
		}
	}
	return hash, rng
}

// newTable creates the sync table exactly as package schema describes it,
// so the engine and the table cannot disagree.
func newTable(ctx *pulumi.Context, c protocol.Context, name string, protect bool) (*dynamodb.Table, error) {
	hash, rng := keySchema(schema.TableKeys)
	feedHash, feedRange := keySchema(schema.FeedKeys)
	var attrs dynamodb.TableAttributeArray
	for _, k := range append(append([]schema.Key{}, schema.TableKeys...), schema.FeedKeys...) {
		attrs = append(attrs, dynamodb.TableAttributeArgs{Name: pulumi.String(k.Name), Type: pulumi.String(schema.KeyType)})
	}
	logical := awskit.Name(c, "table")
	return dynamodb.NewTable(ctx, logical, &dynamodb.TableArgs{
		Name:        pulumi.String(name),
		BillingMode: pulumi.String("PAY_PER_REQUEST"),
		HashKey:     pulumi.String(hash),
		RangeKey:    pulumi.String(rng),
		Attributes:  attrs,
		GlobalSecondaryIndexes: dynamodb.TableGlobalSecondaryIndexArray{dynamodb.TableGlobalSecondaryIndexArgs{
			Name:           pulumi.String(schema.ChangeFeedIndex),
			HashKey:        pulumi.String(feedHash),
			RangeKey:       pulumi.String(feedRange),
			ProjectionType: pulumi.String("ALL"),
		}},
		Ttl:                       dynamodb.TableTtlArgs{AttributeName: pulumi.String(schema.TTLAttribute), Enabled: pulumi.Bool(true)},
		PointInTimeRecovery:       dynamodb.TablePointInTimeRecoveryArgs{Enabled: pulumi.Bool(true)},
		ServerSideEncryption:      dynamodb.TableServerSideEncryptionArgs{Enabled: pulumi.Bool(true)}, // AWS managed KMS key
		DeletionProtectionEnabled: pulumi.Bool(protect),
		Tags:                      awskit.NamedTags(c, name),
	})
}

func newUserPool(ctx *pulumi.Context, c protocol.Context, name string, protect bool) (*cognito.UserPool, *cognito.UserPoolClient, error) {
	protection := "INACTIVE"
	if protect {
		protection = "ACTIVE"
	}
	pool, err := cognito.NewUserPool(ctx, awskit.Name(c, "users"), &cognito.UserPoolArgs{
		Name:                   pulumi.String(name),
		AutoVerifiedAttributes: pulumi.StringArray{pulumi.String("email")},
		UsernameConfiguration:  cognito.UserPoolUsernameConfigurationArgs{CaseSensitive: pulumi.Bool(false)},
		// Team members are invited by an admin, never sign themselves up.
		AdminCreateUserConfig: cognito.UserPoolAdminCreateUserConfigArgs{AllowAdminCreateUserOnly: pulumi.Bool(true)},
		PasswordPolicy: cognito.UserPoolPasswordPolicyArgs{
			MinimumLength:                 pulumi.Int(14),
			RequireLowercase:              pulumi.Bool(true),
			RequireUppercase:              pulumi.Bool(true),
			RequireNumbers:                pulumi.Bool(true),
			RequireSymbols:                pulumi.Bool(true),
			TemporaryPasswordValidityDays: pulumi.Int(3),
		},
		MfaConfiguration:              pulumi.String("OPTIONAL"),
		SoftwareTokenMfaConfiguration: cognito.UserPoolSoftwareTokenMfaConfigurationArgs{Enabled: pulumi.Bool(true)},
		AccountRecoverySetting: cognito.UserPoolAccountRecoverySettingArgs{
			RecoveryMechanisms: cognito.UserPoolAccountRecoverySettingRecoveryMechanismArray{
				cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs{Name: pulumi.String("verified_email"), Priority: pulumi.Int(1)},
			},
		},
		DeletionProtection: pulumi.String(protection),
		Tags:               awskit.NamedTags(c, name),
	})
	if err != nil {
		return nil, nil, err
	}
	for i, g := range groups {
		if _, err := cognito.NewUserGroup(ctx, awskit.Name(c, "group-"+g.name), &cognito.UserGroupArgs{
			Name:        pulumi.String(g.name),
			UserPoolId:  pool.ID(),
			Description: pulumi.String(g.desc),
			Precedence:  pulumi.Int(i),
		}); err != nil {
			return nil, nil, err
		}
	}
	clientName := awskit.NameMax(c, "cli", 128)
	client, err := cognito.NewUserPoolClient(ctx, clientName, &cognito.UserPoolClientArgs{
		Name:       pulumi.String(clientName),
		UserPoolId: pool.ID(),
		// A CLI cannot keep a secret.
		GenerateSecret:             pulumi.Bool(false),
		ExplicitAuthFlows:          pulumi.ToStringArray(clientAuthFlows),
		PreventUserExistenceErrors: pulumi.String("ENABLED"),
		EnableTokenRevocation:      pulumi.Bool(true),
		AccessTokenValidity:        pulumi.Int(60),
		IdTokenValidity:            pulumi.Int(60),
		RefreshTokenValidity:       pulumi.Int(30),
		TokenValidityUnits: cognito.UserPoolClientTokenValidityUnitsArgs{
			AccessToken: pulumi.String("minutes"), IdToken: pulumi.String("minutes"), RefreshToken: pulumi.String("days"),
		},
	})
	if err != nil {
		return nil, nil, err
	}
	return pool, client, nil
}

// clientAuthFlows are the sign-in flows of the CLI/server client.
var clientAuthFlows = []string{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"}
