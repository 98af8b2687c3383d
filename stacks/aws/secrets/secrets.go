package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the secrets stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "secrets",
		Description:  "Secrets Manager secrets (database master credentials, JWT signing key, session secret, external API keys) encrypted with the application key, and a policy that reads them",
		Dependencies: []string{"security"},
		Inputs: map[string]protocol.Input{
			"applicationKeyArn": {Type: protocol.TypeString, Required: true,
				Example:     "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
				Description: "KMS key the secrets are encrypted with (security's applicationKeyArn)"},
			"rotationDays": {Type: protocol.TypeNumber, Default: 30.0, Description: "days between rotations of the rotatable secrets (database master, session secret) when rotationLambdaArn is set"},
			"rotationLambdaArn": {Type: protocol.TypeString, Default: "",
				Description: "ARN of a Secrets Manager rotation function; empty (the default) leaves the secrets unrotated, as Secrets Manager cannot rotate without one"},
			"databaseMasterUsername": {Type: protocol.TypeString, Default: "dbadmin", Description: "user name stored in the database master secret"},
			"externalApiKeys": {Type: protocol.TypeArray, Default: []any{},
				Description: "names of external API keys to keep as secrets (e.g. [\"stripe\",\"sendgrid\"]); their values are set outside the stack"},
			"recoveryWindowDays": {Type: protocol.TypeNumber, Default: 7.0, Description: "days a deleted secret stays recoverable (0 deletes at once, else 7 to 30)"},
		},
		Outputs: map[string]protocol.Output{
			"databaseMasterSecretArn": {Type: protocol.TypeString, Description: "ARN of the secret holding the database master credentials as JSON {username, password, engine}"},
			"jwtSigningKeyArn":        {Type: protocol.TypeString, Description: "ARN of the secret holding the JWT signing key (base64, 64 bytes)"},
			"sessionSecretArn":        {Type: protocol.TypeString, Description: "ARN of the secret holding the session secret (base64, 64 bytes)"},
			"secretsReadPolicyArn":    {Type: protocol.TypeString, Description: "ARN of the IAM policy that reads (and decrypts) these secrets"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

var (
	keyNameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	usernameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,15}$`)
)

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	keyArn := in.String("applicationKeyArn")
	days := in.Int("rotationDays")
	rotator := in.String("rotationLambdaArn")
	user := in.String("databaseMasterUsername")
	external := in.StringList("externalApiKeys")
	recovery := in.Int("recoveryWindowDays")
	if err := in.Err(); err != nil {
		return err
	}
	if !strings.HasPrefix(keyArn, "arn:") || !strings.Contains(keyArn, ":kms:") {
		return fmt.Errorf("input \"applicationKeyArn\": %q is not a KMS key ARN", keyArn)
	}
	if days < 1 || days > 1000 {
		return fmt.Errorf("input \"rotationDays\" must be between 1 and 1000, got %d", days)
	}
	if rotator != "" && !strings.HasPrefix(rotator, "arn:") {
		return fmt.Errorf("input \"rotationLambdaArn\": %q is not an ARN", rotator)
	}
	if recovery != 0 && (recovery < 7 || recovery > 30) {
		return fmt.Errorf("input \"recoveryWindowDays\" must be 0 or between 7 and 30, got %d", recovery)
	}
	if !usernameRE.MatchString(user) {
		return fmt.Errorf("input \"databaseMasterUsername\": %q must start with a letter and have at most 16 letters, digits or underscores", user)
	}
	for _, k := range external {
		if !keyNameRE.MatchString(k) {
			return fmt.Errorf("input \"externalApiKeys\": %q is not a lower-case name of letters, digits and dashes", k)
		}
	}

	newSecret := func(purpose, desc string) (*secretsmanager.Secret, error) {
		name := awskit.Name(c, purpose)
		return secretsmanager.NewSecret(ctx, name, &secretsmanager.SecretArgs{
			Name:                 pulumi.String(name),
			Description:          pulumi.String(desc),
			KmsKeyId:             pulumi.String(keyArn),
			RecoveryWindowInDays: pulumi.Int(recovery),
			Tags:                 awskit.NamedTags(c, name),
		})
	}
	// Generated values are set once: ignoring later changes keeps them
	// stable across runs and lets rotation change them without a diff.
	setOnce := func(s *secretsmanager.Secret, purpose, value string) error {
		_, err := secretsmanager.NewSecretVersion(ctx, awskit.Name(c, purpose+"-value"), &secretsmanager.SecretVersionArgs{
			SecretId:     s.ID(),
			SecretString: pulumi.ToSecret(pulumi.String(value)).(pulumi.StringOutput),
		}, pulumi.IgnoreChanges([]string{"secretString"}))
		return err
	}

	pw, err := password(32)
	if err != nil {
		return err
	}
	master, err := json.Marshal(map[string]string{"username": user, "password": pw, "engine": "postgres"})
	if err != nil {
		return err
	}
	values := []struct {
		purpose, desc, value string
		rotate               bool
	}{
		{"database-master", "database master credentials (JSON: username, password, engine)", string(master), true},
		{"jwt-signing-key", "JWT signing key (HMAC, base64)", randomBase64(64), false},
		{"session-secret", "session cookie secret (base64)", randomBase64(64), true},
	}
	arns := map[string]pulumi.StringOutput{}
	var all pulumi.StringArray
	for _, v := range values {
		s, err := newSecret(v.purpose, v.desc)
		if err != nil {
			return err
		}
		if err := setOnce(s, v.purpose, v.value); err != nil {
			return err
		}
		if v.rotate && rotator != "" {
			if _, err := secretsmanager.NewSecretRotation(ctx, awskit.Name(c, v.purpose+"-rotation"), &secretsmanager.SecretRotationArgs{
				SecretId:          s.ID(),
				RotationLambdaArn: pulumi.String(rotator),
				RotationRules:     secretsmanager.SecretRotationRotationRulesArgs{AutomaticallyAfterDays: pulumi.Int(days)},
			}); err != nil {
				return err
			}
		}
		arns[v.purpose] = s.Arn
		all = append(all, s.Arn)
	}
	for _, k := range external {
		s, err := newSecret("api-key-"+k, "external API key "+k+" (value set outside the stack)")
		if err != nil {
			return err
		}
		all = append(all, s.Arn)
	}

	region, err := awskit.RegionOf(ctx, c)
	if err != nil {
		return err
	}
	doc := all.ToStringArrayOutput().ApplyT(func(secretArns []string) (string, error) {
		return readPolicy(secretArns, keyArn, region)
	}).(pulumi.StringOutput)
	polName := awskit.NameMax(c, "secrets-read", 128)
	pol, err := iam.NewPolicy(ctx, polName, &iam.PolicyArgs{
		Name:        pulumi.String(polName),
		Description: pulumi.String("read the secrets of " + awskit.Name(c, "")),
		Policy:      doc,
		Tags:        awskit.NamedTags(c, polName),
	})
	if err != nil {
		return err
	}

	out.Export("databaseMasterSecretArn", arns["database-master"])
	out.Export("jwtSigningKeyArn", arns["jwt-signing-key"])
	out.Export("sessionSecretArn", arns["session-secret"])
	out.Export("secretsReadPolicyArn", pol.Arn)
	return nil
}

// readActions are what reading a secret takes.
var readActions = []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}

// readPolicy lets its holder read the secrets and decrypt them with the key,
// the key only through Secrets Manager.
func readPolicy(secretArns []string, keyArn, region string) (string, error) {
	b, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{
			{"Sid": "ReadSecrets", "Effect": "Allow", "Action": readActions, "Resource": secretArns},
			{"Sid": "DecryptThroughSecretsManager", "Effect": "Allow", "Action": []string{"kms:Decrypt"}, "Resource": []string{keyArn},
				"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager." + region + ".amazonaws.com"}}},
		},
	})
	return string(b), err
}

// passwordChars leaves out what RDS refuses in a master password (/ @ " and
// space) and what needs quoting in a connection string.
const passwordChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!#$%^*+="

func password(n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(passwordChars)))
	for i := range b {
		x, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("generate password: %w", err)
		}
		b[i] = passwordChars[x.Int64()]
	}
	return string(b), nil
}

func randomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.StdEncoding.EncodeToString(b)
}
