package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/efs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the storage stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "storage",
		Description:  "S3 buckets (assets, static, logs, backups, artifacts) with encryption, versioning and public access blocked; EFS file system with mount targets and an access point",
		Dependencies: []string{"network", "security"},
		Inputs: map[string]protocol.Input{
			"vpcId": {Type: protocol.TypeString, Required: true, Example: "vpc-0abc1234def567890",
				Description: "VPC of the EFS security group (network's vpcId)"},
			"vpcCidrBlock": {Type: protocol.TypeString, Required: true, Example: "10.0.0.0/16",
				Description: "CIDR block of the VPC, allowed to mount EFS unless efsClientSgIds is given (network's vpcCidrBlock)"},
			"privateSubnetIds": {Type: protocol.TypeArray, Required: true,
				Example:     []any{"subnet-0aaa1111bbbb22223", "subnet-0ccc3333dddd44445"},
				Description: "subnets that get an EFS mount target, one per availability zone (network's privateSubnetIds)"},
			"applicationKeyArn": {Type: protocol.TypeString, Required: true,
				Example:     "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
				Description: "KMS key the buckets (except logs) and the file system are encrypted with (security's applicationKeyArn)"},
			"efsClientSgIds": {Type: protocol.TypeArray, Default: []any{},
				Description: "security groups allowed to mount EFS (e.g. [\"${security.ecsSgId}\"]); empty (the default) allows the whole VPC"},
			"enableVersioning":      {Type: protocol.TypeBoolean, Default: true, Description: "keep object versions in every bucket"},
			"logRetentionDays":      {Type: protocol.TypeNumber, Default: 90.0, Description: "days the logs bucket keeps its objects"},
			"noncurrentVersionDays": {Type: protocol.TypeNumber, Default: 30.0, Description: "days an overwritten or deleted object version is kept when versioning is on"},
		},
		Outputs: map[string]protocol.Output{
			"assetsBucketName":    {Type: protocol.TypeString, Description: "bucket for user-uploaded assets (SSE-KMS)"},
			"staticBucketName":    {Type: protocol.TypeString, Description: "bucket for static site files (SSE-KMS)"},
			"logsBucketName":      {Type: protocol.TypeString, Description: "bucket for access logs of S3 and load balancers (SSE-S3, as ELB requires)"},
			"backupBucketName":    {Type: protocol.TypeString, Description: "bucket for backups (SSE-KMS)"},
			"artifactsBucketName": {Type: protocol.TypeString, Description: "bucket for build artifacts (SSE-KMS)"},
			"efsId":               {Type: protocol.TypeString, Description: "ID of the EFS file system"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

// elbAccounts are the accounts Elastic Load Balancing writes access logs
// from in the regions that predate its service principal.
var elbAccounts = map[string]string{
	"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980", "us-west-2": "797873946194",
	"ca-central-1": "985666609251", "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-west-3": "009996457667",
	"eu-central-1": "054676820928", "eu-north-1": "897822967062", "ap-south-1": "718504428378", "ap-northeast-1": "582318560864",
	"ap-northeast-2": "600734575887", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266", "sa-east-1": "507241528517",
}

// bucketPurposes are the buckets in creation order; logs comes first so
// the others can send their access logs to it.
var bucketPurposes = []string{"logs", "assets", "static", "backups", "artifacts"}

var bucketOutputs = map[string]string{
	"logs": "logsBucketName", "assets": "assetsBucketName", "static": "staticBucketName",
	"backups": "backupBucketName", "artifacts": "artifactsBucketName",
}

type settings struct {
	keyArn     string
	versioning bool
	logDays    int
	noncurrent int
	account    string
	region     string
}

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	vpcID := in.String("vpcId")
	vpcCidr := in.String("vpcCidrBlock")
	subnets := in.StringList("privateSubnetIds")
	s := settings{
		keyArn:     in.String("applicationKeyArn"),
		versioning: in.Bool("enableVersioning"),
		logDays:    in.Int("logRetentionDays"),
		noncurrent: in.Int("noncurrentVersionDays"),
	}
	clients := in.StringList("efsClientSgIds")
	if err := in.Err(); err != nil {
		return err
	}
	if len(subnets) == 0 {
		return fmt.Errorf("input \"privateSubnetIds\" is empty: EFS needs a mount target subnet")
	}
	if !strings.HasPrefix(s.keyArn, "arn:") || !strings.Contains(s.keyArn, ":kms:") {
		return fmt.Errorf("input \"applicationKeyArn\": %q is not a KMS key ARN", s.keyArn)
	}
	if s.logDays < 1 {
		return fmt.Errorf("input \"logRetentionDays\" must be at least 1, got %d", s.logDays)
	}
	if s.noncurrent < 1 {
		return fmt.Errorf("input \"noncurrentVersionDays\" must be at least 1, got %d", s.noncurrent)
	}
	var err error
	if s.account, err = awskit.AccountOf(ctx, c); err != nil {
		return err
	}
	if s.region, err = awskit.RegionOf(ctx, c); err != nil {
		return err
	}

	var logs *s3.BucketV2
	for _, p := range bucketPurposes {
		b, err := newBucket(ctx, c, p, s, logs)
		if err != nil {
			return err
		}
		if p == "logs" {
			logs = b
		}
		out.Export(bucketOutputs[p], b.Bucket)
	}

	fs, err := newFileSystem(ctx, c, s, vpcID, vpcCidr, subnets, clients)
	if err != nil {
		return err
	}
	out.Export("efsId", fs.ID())
	return nil
}

func newBucket(ctx *pulumi.Context, c protocol.Context, purpose string, s settings, logs *s3.BucketV2) (*s3.BucketV2, error) {
	name := awskit.NameMax(c, purpose, 63)
	b, err := s3.NewBucketV2(ctx, name, &s3.BucketV2Args{
		Bucket: pulumi.String(name),
		Tags:   awskit.Tags(c, map[string]string{"Name": name, "purpose": purpose}),
	})
	if err != nil {
		return nil, err
	}
	pab, err := s3.NewBucketPublicAccessBlock(ctx, name+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                b.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: b.ID(),
		Rule:   s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}); err != nil {
		return nil, err
	}

	// Load balancers can only write access logs to SSE-S3 buckets.
	sse := s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
		SseAlgorithm: pulumi.String("aws:kms"), KmsMasterKeyId: pulumi.String(s.keyArn),
	}
	if purpose == "logs" {
		sse = s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{SseAlgorithm: pulumi.String("AES256")}
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: b.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: sse,
			BucketKeyEnabled:                   pulumi.Bool(purpose != "logs"), // fewer KMS calls, lower cost
		}},
	}); err != nil {
		return nil, err
	}

	status := "Suspended"
	if s.versioning {
		status = "Enabled"
	}
	if _, err := s3.NewBucketVersioningV2(ctx, name+"-versioning", &s3.BucketVersioningV2Args{
		Bucket:                  b.ID(),
		VersioningConfiguration: s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String(status)},
	}); err != nil {
		return nil, err
	}

	rule := s3.BucketLifecycleConfigurationV2RuleArgs{
		Id:     pulumi.String("housekeeping"),
		Status: pulumi.String("Enabled"),
		Filter: s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
		AbortIncompleteMultipartUpload: s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
			DaysAfterInitiation: pulumi.Int(7),
		},
	}
	if s.versioning {
		rule.NoncurrentVersionExpiration = s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{NoncurrentDays: pulumi.Int(s.noncurrent)}
	}
	if purpose == "logs" {
		rule.Expiration = s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(s.logDays)}
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name+"-lifecycle", &s3.BucketLifecycleConfigurationV2Args{
		Bucket: b.ID(),
		Rules:  s3.BucketLifecycleConfigurationV2RuleArray{rule},
	}); err != nil {
		return nil, err
	}

	policy := b.Arn.ApplyT(func(arn string) (string, error) { return bucketPolicy(purpose, arn, s.account, s.region) }).(pulumi.StringOutput)
	// The policy waits for the public access block, so S3 never sees a
	// policy change on a bucket that is not yet locked down.
	if _, err := s3.NewBucketPolicy(ctx, name+"-policy", &s3.BucketPolicyArgs{Bucket: b.ID(), Policy: policy},
		pulumi.DependsOn([]pulumi.Resource{pab})); err != nil {
		return nil, err
	}

	if logs != nil {
		if _, err := s3.NewBucketLoggingV2(ctx, name+"-logging", &s3.BucketLoggingV2Args{
			Bucket:       b.ID(),
			TargetBucket: logs.ID(),
			TargetPrefix: pulumi.String("s3/" + purpose + "/"),
		}); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// bucketPolicy denies every request not made over TLS; the logs bucket
// also lets S3 server access logging and load balancers of this account
// write to it.
func bucketPolicy(purpose, arn, account, region string) (string, error) {
	stmts := []map[string]any{{
		"Sid":       "DenyInsecureTransport",
		"Effect":    "Deny",
		"Principal": "*",
		"Action":    "s3:*",
		"Resource":  []string{arn, arn + "/*"},
		"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
	}}
	if purpose == "logs" {
		stmts = append(stmts,
			map[string]any{
				"Sid":       "S3ServerAccessLogs",
				"Effect":    "Allow",
				"Principal": map[string]any{"Service": "logging.s3.amazonaws.com"},
				"Action":    "s3:PutObject",
				"Resource":  arn + "/s3/*",
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}},
			},
			map[string]any{
				"Sid":       "LoadBalancerAccessLogs",
				"Effect":    "Allow",
				"Principal": map[string]any{"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
				"Action":    "s3:PutObject",
				"Resource":  arn + "/alb/AWSLogs/" + account + "/*",
			},
		)
		// Regions older than August 2022 deliver load balancer logs from a
		// regional ELB account instead of the service principal.
		if elb, ok := elbAccounts[region]; ok {
			stmts = append(stmts, map[string]any{
				"Sid":       "LoadBalancerAccessLogsLegacy",
				"Effect":    "Allow",
				"Principal": map[string]any{"AWS": "arn:aws:iam::" + elb + ":root"},
				"Action":    "s3:PutObject",
				"Resource":  arn + "/alb/AWSLogs/" + account + "/*",
			})
		}
	}
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	return string(b), err
}

func newFileSystem(ctx *pulumi.Context, c protocol.Context, s settings, vpcID, vpcCidr string, subnets, clients []string) (*efs.FileSystem, error) {
	name := awskit.Name(c, "efs")
	fs, err := efs.NewFileSystem(ctx, name, &efs.FileSystemArgs{
		CreationToken:   pulumi.String(name),
		Encrypted:       pulumi.Bool(true),
		KmsKeyId:        pulumi.String(s.keyArn),
		PerformanceMode: pulumi.String("generalPurpose"),
		ThroughputMode:  pulumi.String("elastic"),
		LifecyclePolicies: efs.FileSystemLifecyclePolicyArray{
			efs.FileSystemLifecyclePolicyArgs{TransitionToIa: pulumi.String("AFTER_30_DAYS")},
			efs.FileSystemLifecyclePolicyArgs{TransitionToPrimaryStorageClass: pulumi.String("AFTER_1_ACCESS")},
		},
		Tags: awskit.NamedTags(c, name),
	})
	if err != nil {
		return nil, err
	}
	if _, err := efs.NewBackupPolicy(ctx, name+"-backup", &efs.BackupPolicyArgs{
		FileSystemId: fs.ID(),
		BackupPolicy: efs.BackupPolicyBackupPolicyArgs{Status: pulumi.String("ENABLED")},
	}); err != nil {
		return nil, err
	}
	fsPolicy := fs.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []map[string]any{{
				"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
				"Action": "*", "Resource": arn,
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			}},
		})
		return string(b), err
	}).(pulumi.StringOutput)
	if _, err := efs.NewFileSystemPolicy(ctx, name+"-policy", &efs.FileSystemPolicyArgs{FileSystemId: fs.ID(), Policy: fsPolicy}); err != nil {
		return nil, err
	}

	nfs := ec2.SecurityGroupIngressArgs{
		Description: pulumi.String("NFS from the file system's clients"),
		Protocol:    pulumi.String("tcp"), FromPort: pulumi.Int(2049), ToPort: pulumi.Int(2049),
	}
	if len(clients) > 0 {
		nfs.SecurityGroups = pulumi.ToStringArray(clients)
	} else {
		nfs.CidrBlocks = pulumi.StringArray{pulumi.String(vpcCidr)}
	}
	sgName := awskit.NameMax(c, "efs", 255)
	sg, err := ec2.NewSecurityGroup(ctx, sgName, &ec2.SecurityGroupArgs{
		Name:        pulumi.String(sgName),
		Description: pulumi.String("EFS mount targets: NFS from the file system's clients only"),
		VpcId:       pulumi.String(vpcID),
		Ingress:     ec2.SecurityGroupIngressArray{nfs},
		Tags:        awskit.NamedTags(c, sgName),
	})
	if err != nil {
		return nil, err
	}
	for i, subnet := range subnets {
		if _, err := efs.NewMountTarget(ctx, awskit.Name(c, fmt.Sprintf("efs-mount-%d", i)), &efs.MountTargetArgs{
			FileSystemId:   fs.ID(),
			SubnetId:       pulumi.String(subnet),
			SecurityGroups: pulumi.StringArray{sg.ID()},
		}); err != nil {
			return nil, err
		}
	}
	apName := awskit.Name(c, "efs-app")
	if _, err := efs.NewAccessPoint(ctx, apName, &efs.AccessPointArgs{
		FileSystemId: fs.ID(),
		PosixUser:    efs.AccessPointPosixUserArgs{Uid: pulumi.Int(1000), Gid: pulumi.Int(1000)},
		RootDirectory: efs.AccessPointRootDirectoryArgs{
			Path: pulumi.String("/app"),
			CreationInfo: efs.AccessPointRootDirectoryCreationInfoArgs{
				OwnerUid: pulumi.Int(1000), OwnerGid: pulumi.Int(1000), Permissions: pulumi.String("750"),
			},
		},
		Tags: awskit.NamedTags(c, apName),
	}); err != nil {
		return nil, err
	}
	return fs, nil
}
