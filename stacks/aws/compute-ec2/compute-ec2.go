package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the compute-ec2 stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "compute-ec2",
		Description:  "launch template and auto scaling group for web and worker instances, an ALB, scaling policies, log groups",
		Dependencies: []string{"network", "security", "storage"},
		Inputs: map[string]protocol.Input{
			"instanceType":        {Type: protocol.TypeString, Default: "t3.small", Description: "EC2 instance type of the web and worker instances"},
			"minSize":             {Type: protocol.TypeNumber, Default: 1.0, Description: "minimum instances of each group"},
			"maxSize":             {Type: protocol.TypeNumber, Default: 3.0, Description: "maximum instances of each group"},
			"cpuTarget":           {Type: protocol.TypeNumber, Default: 60.0, Description: "average CPU utilisation (%) the groups scale to keep"},
			"appPort":             {Type: protocol.TypeNumber, Default: 8080.0, Description: "port the web application listens on"},
			"healthCheckPath":     {Type: protocol.TypeString, Default: "/health", Description: "path the load balancer checks the web instances on"},
			"imageId":             {Type: protocol.TypeString, Default: "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", Description: "AMI of the instances, or resolve:ssm:<parameter> to follow the latest Amazon Linux"},
			"volumeSize":          {Type: protocol.TypeNumber, Default: 20.0, Description: "root volume size in GiB (encrypted gp3)"},
			"deletionProtection":  {Type: protocol.TypeBoolean, Default: true, Description: "protect the load balancer from deletion"},
			"certificateArn":      {Type: protocol.TypeString, Default: "", Description: "ACM certificate of the HTTPS listener (dns's certificateArn); empty serves plain HTTP"},
			"logRetentionDays":    {Type: protocol.TypeNumber, Default: 30.0, Description: "days the instance log groups keep their events"},
			"vpcId":               {Type: protocol.TypeString, Required: true, Description: "VPC of the target group (network's vpcId)", Example: "vpc-0abc1234def567890"},
			"publicSubnetIds":     {Type: protocol.TypeArray, Required: true, Description: "subnets of the load balancer (network's publicSubnetIds)", Example: []any{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"}},
			"privateSubnetIds":    {Type: protocol.TypeArray, Required: true, Description: "subnets of the instances (network's privateSubnetIds)", Example: []any{"subnet-0111aaaa2222bbbbc", "subnet-0333cccc4444ddddf"}},
			"albSgId":             {Type: protocol.TypeString, Required: true, Description: "security group of the load balancer (security's albSgId)", Example: "sg-0a1b2c3d4e5f60718"},
			"webSgId":             {Type: protocol.TypeString, Required: true, Description: "security group of the instances (security's webSgId)", Example: "sg-0f1e2d3c4b5a69788"},
			"artifactsBucketName": {Type: protocol.TypeString, Required: true, Description: "bucket the instances read application releases from (storage's artifactsBucketName)", Example: "d0sample-storage-dev-artifacts"},
			"logsBucketName":      {Type: protocol.TypeString, Required: true, Description: "bucket the load balancer writes its access logs to, under alb/ (storage's logsBucketName)", Example: "d0sample-storage-dev-logs"},
			"efsId":               {Type: protocol.TypeString, Required: true, Description: "EFS file system the instances mount at /mnt/shared (storage's efsId)", Example: "fs-0123456789abcdef0"},
		},
		Outputs: map[string]protocol.Output{
			"webAsgName":    {Type: protocol.TypeString, Description: "name of the web auto scaling group"},
			"workerAsgName": {Type: protocol.TypeString, Description: "name of the worker auto scaling group"},
			"albDnsName":    {Type: protocol.TypeString, Description: "DNS name of the load balancer"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

// tlsPolicy allows TLS 1.3 and 1.2 with forward-secret ciphers only.
const tlsPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

var (
	instanceTypePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	retentionDays       = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true,
		150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true,
		2922: true, 3288: true, 3653: true}
)

type settings struct {
	instanceType, imageID, bucket, efsID, certArn, healthPath string
	minSize, maxSize, port, volume, retention                 int
	cpuTarget                                                 float64
}

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	s := settings{
		instanceType: in.String("instanceType"), minSize: in.Int("minSize"), maxSize: in.Int("maxSize"),
		cpuTarget: in.Number("cpuTarget"), port: in.Int("appPort"), healthPath: in.String("healthCheckPath"),
		imageID: in.String("imageId"), volume: in.Int("volumeSize"), certArn: in.String("certificateArn"),
		retention: in.Int("logRetentionDays"), bucket: in.String("artifactsBucketName"), efsID: in.String("efsId"),
	}
	protect := in.Bool("deletionProtection")
	vpcID := in.String("vpcId")
	public := in.StringList("publicSubnetIds")
	private := in.StringList("privateSubnetIds")
	albSg := in.String("albSgId")
	webSg := in.String("webSgId")
	logsBucket := in.String("logsBucketName")
	if err := in.Err(); err != nil {
		return err
	}
	if err := s.check(public, private); err != nil {
		return err
	}
	if logsBucket == "" {
		return fmt.Errorf("input \"logsBucketName\" is empty")
	}
	account := c.AccountID
	if account == "" {
		id, err := aws.GetCallerIdentity(ctx, nil)
		if err != nil {
			return fmt.Errorf("caller identity: %w", err)
		}
		account = id.AccountId
	}

	logs := map[string]*cloudwatch.LogGroup{}
	for _, role := range []string{"web", "worker"} {
		logName := "/cloud/" + awskit.Name(c, role)
		lg, err := cloudwatch.NewLogGroup(ctx, awskit.Name(c, role+"-logs"), &cloudwatch.LogGroupArgs{
			Name: pulumi.String(logName), RetentionInDays: pulumi.Int(s.retention), Tags: awskit.NamedTags(c, logName),
		})
		if err != nil {
			return fmt.Errorf("%s log group: %w", role, err)
		}
		logs[role] = lg
	}

	profile, err := instanceProfile(ctx, c, s, account, logs)
	if err != nil {
		return err
	}

	albName := awskit.NameMax(c, "alb", 32)
	alb, err := lb.NewLoadBalancer(ctx, albName, &lb.LoadBalancerArgs{
		Name:                     pulumi.String(albName),
		LoadBalancerType:         pulumi.String("application"),
		Internal:                 pulumi.Bool(false),
		Subnets:                  pulumi.ToStringArray(public),
		SecurityGroups:           pulumi.StringArray{pulumi.String(albSg)},
		EnableDeletionProtection: pulumi.Bool(protect),
		DropInvalidHeaderFields:  pulumi.Bool(true),
		// The logs bucket lets the load balancer write under alb/ only.
		AccessLogs: lb.LoadBalancerAccessLogsArgs{Bucket: pulumi.String(logsBucket), Prefix: pulumi.String("alb"), Enabled: pulumi.Bool(true)},
		Tags:       awskit.NamedTags(c, albName),
	})
	if err != nil {
		return fmt.Errorf("load balancer: %w", err)
	}
	tgName := awskit.NameMax(c, "web", 32)
	tg, err := lb.NewTargetGroup(ctx, tgName, &lb.TargetGroupArgs{
		Name: pulumi.String(tgName), Port: pulumi.Int(s.port), Protocol: pulumi.String("HTTP"),
		VpcId: pulumi.String(vpcID), TargetType: pulumi.String("instance"), DeregistrationDelay: pulumi.Int(30),
		HealthCheck: lb.TargetGroupHealthCheckArgs{
			Path: pulumi.String(s.healthPath), Matcher: pulumi.String("200-399"), Interval: pulumi.Int(15),
			HealthyThreshold: pulumi.Int(2), UnhealthyThreshold: pulumi.Int(3),
		},
		Tags: awskit.NamedTags(c, tgName),
	})
	if err != nil {
		return fmt.Errorf("target group: %w", err)
	}
	if err := listeners(ctx, c, alb, tg, s.certArn); err != nil {
		return err
	}

	groups := map[string]*autoscaling.Group{}
	for _, role := range []string{"web", "worker"} {
		g, err := group(ctx, c, s, role, profile, webSg, private, logs[role], tg)
		if err != nil {
			return err
		}
		groups[role] = g
	}

	out.Export("webAsgName", groups["web"].Name)
	out.Export("workerAsgName", groups["worker"].Name)
	out.Export("albDnsName", alb.DnsName)
	return nil
}

func (s settings) check(public, private []string) error {
	switch {
	case !instanceTypePattern.MatchString(s.instanceType):
		return fmt.Errorf("input \"instanceType\": %q is not an EC2 instance type", s.instanceType)
	case s.minSize < 0:
		return fmt.Errorf("input \"minSize\" must be 0 or more, got %d", s.minSize)
	case s.maxSize < 1 || s.maxSize < s.minSize:
		return fmt.Errorf("input \"maxSize\" (%d) must be at least 1 and at least minSize (%d)", s.maxSize, s.minSize)
	case s.cpuTarget <= 0 || s.cpuTarget > 100:
		return fmt.Errorf("input \"cpuTarget\" must be a percentage above 0, got %v", s.cpuTarget)
	case s.port < 1 || s.port > 65535:
		return fmt.Errorf("input \"appPort\" must be a TCP port, got %d", s.port)
	case !strings.HasPrefix(s.healthPath, "/"):
		return fmt.Errorf("input \"healthCheckPath\" must start with /, got %q", s.healthPath)
	case s.volume < 8 || s.volume > 16384:
		return fmt.Errorf("input \"volumeSize\" must be between 8 and 16384 GiB, got %d", s.volume)
	case s.certArn != "" && !strings.HasPrefix(s.certArn, "arn:"):
		return fmt.Errorf("input \"certificateArn\": %q is not an ARN", s.certArn)
	case !retentionDays[s.retention]:
		return fmt.Errorf("input \"logRetentionDays\": %d is not a CloudWatch Logs retention period", s.retention)
	case len(public) < 2:
		return fmt.Errorf("input \"publicSubnetIds\": a load balancer needs subnets in at least 2 zones, got %d", len(public))
	case len(private) == 0:
		return fmt.Errorf("input \"privateSubnetIds\" lists no subnet")
	}
	return nil
}

// listeners serve HTTPS and redirect HTTP to it when there is a
// certificate, and plain HTTP otherwise.
func listeners(ctx *pulumi.Context, c protocol.Context, alb *lb.LoadBalancer, tg *lb.TargetGroup, certArn string) error {
	forward := lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"), TargetGroupArn: tg.Arn}}
	if certArn == "" {
		_, err := lb.NewListener(ctx, awskit.Name(c, "http"), &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn, Port: pulumi.Int(80), Protocol: pulumi.String("HTTP"),
			DefaultActions: forward, Tags: awskit.NamedTags(c, awskit.Name(c, "http")),
		})
		if err != nil {
			return fmt.Errorf("http listener: %w", err)
		}
		return nil
	}
	if _, err := lb.NewListener(ctx, awskit.Name(c, "https"), &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn, Port: pulumi.Int(443), Protocol: pulumi.String("HTTPS"),
		SslPolicy: pulumi.String(tlsPolicy), CertificateArn: pulumi.String(certArn),
		DefaultActions: forward, Tags: awskit.NamedTags(c, awskit.Name(c, "https")),
	}); err != nil {
		return fmt.Errorf("https listener: %w", err)
	}
	if _, err := lb.NewListener(ctx, awskit.Name(c, "http"), &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn, Port: pulumi.Int(80), Protocol: pulumi.String("HTTP"),
		DefaultActions: lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: lb.ListenerDefaultActionRedirectArgs{
				Protocol: pulumi.String("HTTPS"), Port: pulumi.String("443"), StatusCode: pulumi.String("HTTP_301"),
			},
		}},
		Tags: awskit.NamedTags(c, awskit.Name(c, "http")),
	}); err != nil {
		return fmt.Errorf("http redirect listener: %w", err)
	}
	return nil
}

// instanceProfile is the instances' role: SSM Session Manager instead of
// SSH, plus exactly the logs, release bucket and file system they use.
func instanceProfile(ctx *pulumi.Context, c protocol.Context, s settings, account string, logs map[string]*cloudwatch.LogGroup) (*iam.InstanceProfile, error) {
	roleName := awskit.NameMax(c, "instance", 64)
	assume, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole",
	}}})
	role, err := iam.NewRole(ctx, roleName, &iam.RoleArgs{
		Name: pulumi.String(roleName), AssumeRolePolicy: pulumi.String(string(assume)), Tags: awskit.NamedTags(c, roleName),
	})
	if err != nil {
		return nil, fmt.Errorf("instance role: %w", err)
	}
	if _, err := iam.NewRolePolicyAttachment(ctx, roleName+"-ssm", &iam.RolePolicyAttachmentArgs{
		Role: role.Name, PolicyArn: pulumi.String("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
	}); err != nil {
		return nil, fmt.Errorf("instance role ssm: %w", err)
	}
	efsArn := fmt.Sprintf("arn:aws:elasticfilesystem:%s:%s:file-system/%s", c.Region, account, s.efsID)
	doc := pulumi.All(logs["web"].Arn, logs["worker"].Arn).ApplyT(func(xs []any) (string, error) {
		var logArns []string
		for _, x := range xs {
			logArns = append(logArns, x.(string), x.(string)+":*")
		}
		b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{
			map[string]any{"Sid": "Logs", "Effect": "Allow", "Action": []string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}, "Resource": logArns},
			map[string]any{"Sid": "ReadReleases", "Effect": "Allow", "Action": []string{"s3:GetObject"}, "Resource": "arn:aws:s3:::" + s.bucket + "/*"},
			map[string]any{"Sid": "ListReleases", "Effect": "Allow", "Action": []string{"s3:ListBucket"}, "Resource": "arn:aws:s3:::" + s.bucket},
			map[string]any{"Sid": "SharedFiles", "Effect": "Allow", "Action": []string{"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"}, "Resource": efsArn},
		}})
		return string(b), err
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, roleName+"-policy", &iam.RolePolicyArgs{
		Name: pulumi.String("instance"), Role: role.Name, Policy: doc,
	}); err != nil {
		return nil, fmt.Errorf("instance role policy: %w", err)
	}
	profile, err := iam.NewInstanceProfile(ctx, roleName+"-profile", &iam.InstanceProfileArgs{
		Name: pulumi.String(roleName), Role: role.Name, Tags: awskit.NamedTags(c, roleName),
	})
	if err != nil {
		return nil, fmt.Errorf("instance profile: %w", err)
	}
	return profile, nil
}

// userData mounts the shared file system and records where the instance's
// release and logs live, for the application's own bootstrap.
func userData(role, bucket, efsID, logGroup string) string {
	script := fmt.Sprintf(`#!/bin/bash
set -euo pipefail
dnf install -y amazon-efs-utils
mkdir -p /mnt/shared
echo "%[2]s:/ /mnt/shared efs _netdev,tls,iam 0 0" >> /etc/fstab
mount -a -t efs
mkdir -p /etc/cloud
cat > /etc/cloud/instance.env <<ENV
ROLE=%[1]s
RELEASE_BUCKET=%[3]s
LOG_GROUP=%[4]s
ENV
`, role, efsID, bucket, logGroup)
	return base64.StdEncoding.EncodeToString([]byte(script))
}

func group(ctx *pulumi.Context, c protocol.Context, s settings, role string, profile *iam.InstanceProfile,
	sg string, subnets []string, logs *cloudwatch.LogGroup, tg *lb.TargetGroup) (*autoscaling.Group, error) {
	ltName := awskit.NameMax(c, role, 128)
	tags := awskit.NamedTags(c, ltName)
	ud := logs.Name.ApplyT(func(lg string) string { return userData(role, s.bucket, s.efsID, lg) }).(pulumi.StringOutput)
	lt, err := ec2.NewLaunchTemplate(ctx, ltName, &ec2.LaunchTemplateArgs{
		Name:                 pulumi.String(ltName),
		ImageId:              pulumi.String(s.imageID),
		InstanceType:         pulumi.String(s.instanceType),
		VpcSecurityGroupIds:  pulumi.StringArray{pulumi.String(sg)},
		IamInstanceProfile:   ec2.LaunchTemplateIamInstanceProfileArgs{Arn: profile.Arn},
		UserData:             ud,
		UpdateDefaultVersion: pulumi.Bool(true),
		MetadataOptions: ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint: pulumi.String("enabled"), HttpTokens: pulumi.String("required"), HttpPutResponseHopLimit: pulumi.Int(1),
		},
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{ec2.LaunchTemplateBlockDeviceMappingArgs{
			DeviceName: pulumi.String("/dev/xvda"),
			Ebs: ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
				VolumeSize: pulumi.Int(s.volume), VolumeType: pulumi.String("gp3"),
				Encrypted: pulumi.String("true"), DeleteOnTermination: pulumi.String("true"),
			},
		}},
		Monitoring: ec2.LaunchTemplateMonitoringArgs{Enabled: pulumi.Bool(true)},
		TagSpecifications: ec2.LaunchTemplateTagSpecificationArray{
			ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("instance"), Tags: tags},
			ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("volume"), Tags: tags},
		},
		Tags: tags,
	})
	if err != nil {
		return nil, fmt.Errorf("%s launch template: %w", role, err)
	}
	// Sorted, so the group's tag list does not change from run to run.
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var asgTags autoscaling.GroupTagArray
	for _, k := range keys {
		asgTags = append(asgTags, autoscaling.GroupTagArgs{Key: pulumi.String(k), Value: tags[k], PropagateAtLaunch: pulumi.Bool(true)})
	}
	asgName := awskit.NameMax(c, role, 255)
	args := &autoscaling.GroupArgs{
		Name:               pulumi.String(asgName),
		MinSize:            pulumi.Int(s.minSize),
		MaxSize:            pulumi.Int(s.maxSize),
		VpcZoneIdentifiers: pulumi.ToStringArray(subnets),
		// The exact version, not $Latest, so a template change shows as a
		// change of the group and starts an instance refresh.
		LaunchTemplate: autoscaling.GroupLaunchTemplateArgs{
			Id: lt.ID(), Version: lt.LatestVersion.ApplyT(func(v int) string { return fmt.Sprint(v) }).(pulumi.StringOutput),
		},
		HealthCheckGracePeriod: pulumi.Int(120),
		HealthCheckType:        pulumi.String("EC2"),
		InstanceRefresh: autoscaling.GroupInstanceRefreshArgs{
			Strategy:    pulumi.String("Rolling"),
			Preferences: autoscaling.GroupInstanceRefreshPreferencesArgs{MinHealthyPercentage: pulumi.Int(90)},
		},
		EnabledMetrics: pulumi.ToStringArray([]string{"GroupDesiredCapacity", "GroupInServiceInstances", "GroupMaxSize", "GroupMinSize"}),
		Tags:           asgTags,
	}
	if role == "web" {
		args.TargetGroupArns = pulumi.StringArray{tg.Arn}
		args.HealthCheckType = pulumi.String("ELB")
	}
	g, err := autoscaling.NewGroup(ctx, asgName+"-asg", args)
	if err != nil {
		return nil, fmt.Errorf("%s auto scaling group: %w", role, err)
	}
	if _, err := autoscaling.NewPolicy(ctx, asgName+"-cpu", &autoscaling.PolicyArgs{
		Name:                 pulumi.String(asgName + "-cpu"),
		AutoscalingGroupName: g.Name,
		PolicyType:           pulumi.String("TargetTrackingScaling"),
		TargetTrackingConfiguration: autoscaling.PolicyTargetTrackingConfigurationArgs{
			TargetValue: pulumi.Float64(s.cpuTarget),
			PredefinedMetricSpecification: autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs{
				PredefinedMetricType: pulumi.String("ASGAverageCPUUtilization"),
			},
		},
	}); err != nil {
		return nil, fmt.Errorf("%s scaling policy: %w", role, err)
	}
	return g, nil
}
