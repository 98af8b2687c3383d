package main

import (
	"encoding/json"
	"fmt"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the security stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "security",
		Description:  "security groups (alb, web, api, db, ecs, eks, lambda), IAM roles for ECS, EKS and Lambda, and KMS keys (application, database, infrastructure)",
		Dependencies: []string{"network"},
		Inputs: map[string]protocol.Input{
			"vpcId":                 {Type: protocol.TypeString, Required: true, Example: "vpc-0abc1234def567890", Description: "VPC the security groups belong to (network's vpcId)"},
			"vpcCidrBlock":          {Type: protocol.TypeString, Required: true, Example: "10.0.0.0/16", Description: "CIDR block of the VPC, the only destination the load balancer may send to (network's vpcCidrBlock)"},
			"enableKmsRotation":     {Type: protocol.TypeBoolean, Default: true, Description: "rotate the KMS keys' material every year"},
			"kmsDeletionWindowDays": {Type: protocol.TypeNumber, Default: 30.0, Description: "days a deleted KMS key stays recoverable (7 to 30)"},
			"databasePort":          {Type: protocol.TypeNumber, Default: 5432.0, Description: "port the database security group admits from the application groups"},
		},
		Outputs: map[string]protocol.Output{
			"albSgId":             {Type: protocol.TypeString, Description: "security group of the public load balancers: 80 and 443 from anywhere"},
			"webSgId":             {Type: protocol.TypeString, Description: "security group of the web tier: TCP from the load balancer only"},
			"apiSgId":             {Type: protocol.TypeString, Description: "security group of the API tier: TCP from the load balancer only"},
			"dbSgId":              {Type: protocol.TypeString, Description: "security group of the databases: the database port from the application groups only"},
			"ecsSgId":             {Type: protocol.TypeString, Description: "security group of ECS tasks: TCP from the load balancer only"},
			"eksSgId":             {Type: protocol.TypeString, Description: "security group of EKS nodes: from each other, the load balancer, and HTTPS from the VPC"},
			"lambdaSgId":          {Type: protocol.TypeString, Description: "security group of Lambda functions in the VPC: no ingress"},
			"ecsExecutionRoleArn": {Type: protocol.TypeString, Description: "ARN of the ECS task execution role (image pulls, logs)"},
			"ecsTaskRoleArn":      {Type: protocol.TypeString, Description: "ARN of the ECS task role the application runs as"},
			"eksClusterRoleArn":   {Type: protocol.TypeString, Description: "ARN of the EKS cluster role"},
			"eksNodeRoleArn":      {Type: protocol.TypeString, Description: "ARN of the EKS node role"},
			"lambdaRoleArn":       {Type: protocol.TypeString, Description: "ARN of the Lambda execution role"},
			"applicationKeyArn":   {Type: protocol.TypeString, Description: "ARN of the KMS key for application data (secrets, buckets, file systems)"},
			"databaseKeyArn":      {Type: protocol.TypeString, Description: "ARN of the KMS key for database storage"},
		},
	},
	Mocks: awskit.Mocks{States: map[string]awskit.StateFunc{
		"aws:kms/key:Key": func(m awskit.Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
			s["keyId"] = resource.NewStringProperty("1234abcd-12ab-34cd-56ef-" + a.Name[len(a.Name)-4:])
		},
	}},
	Program: program,
}

const anywhere = "0.0.0.0/0"

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	vpcID := in.String("vpcId")
	vpcCidr := in.String("vpcCidrBlock")
	rotate := in.Bool("enableKmsRotation")
	window := in.Int("kmsDeletionWindowDays")
	dbPort := in.Int("databasePort")
	if err := in.Err(); err != nil {
		return err
	}
	if vpcID == "" {
		return fmt.Errorf("input \"vpcId\" is empty")
	}
	if window < 7 || window > 30 {
		return fmt.Errorf("input \"kmsDeletionWindowDays\" must be between 7 and 30, got %d", window)
	}
	if dbPort < 1 || dbPort > 65535 {
		return fmt.Errorf("input \"databasePort\" must be a TCP port, got %d", dbPort)
	}
	acct, err := awskit.AccountOf(ctx, c)
	if err != nil {
		return err
	}
	region, err := awskit.RegionOf(ctx, c)
	if err != nil {
		return err
	}

	sgs, err := newSecurityGroups(ctx, c, vpcID, vpcCidr, dbPort)
	if err != nil {
		return err
	}

	keys := map[string]*kms.Key{}
	for _, purpose := range []string{"application", "database", "infrastructure"} {
		k, err := newKey(ctx, c, purpose, rotate, window, acct, region)
		if err != nil {
			return err
		}
		keys[purpose] = k
	}

	roles, err := newRoles(ctx, c, acct, region, keys["application"])
	if err != nil {
		return err
	}

	for _, g := range sgOrder {
		out.Export(g+"SgId", sgs[g].ID())
	}
	out.Export("ecsExecutionRoleArn", roles["ecs-execution"].Arn)
	out.Export("ecsTaskRoleArn", roles["ecs-task"].Arn)
	out.Export("eksClusterRoleArn", roles["eks-cluster"].Arn)
	out.Export("eksNodeRoleArn", roles["eks-node"].Arn)
	out.Export("lambdaRoleArn", roles["lambda"].Arn)
	out.Export("applicationKeyArn", keys["application"].Arn)
	out.Export("databaseKeyArn", keys["database"].Arn)
	return nil
}

// sgOrder is the order the groups are created in: a group exists before
// any group whose rules name it.
var sgOrder = []string{"alb", "web", "api", "ecs", "eks", "lambda", "db"}

var sgDescriptions = map[string]string{
	"alb":    "Public load balancers: HTTP and HTTPS from the internet",
	"web":    "Web tier: from the load balancer only",
	"api":    "API tier: from the load balancer only",
	"ecs":    "ECS tasks: from the load balancer only",
	"eks":    "EKS nodes: node to node, from the load balancer, HTTPS from the VPC",
	"lambda": "Lambda functions in the VPC: no ingress",
	"db":     "Databases: the database port from the application groups only",
}

func tcp(desc string, from, to int) ec2.SecurityGroupIngressArgs {
	return ec2.SecurityGroupIngressArgs{Description: pulumi.String(desc), Protocol: pulumi.String("tcp"), FromPort: pulumi.Int(from), ToPort: pulumi.Int(to)}
}

func newSecurityGroups(ctx *pulumi.Context, c protocol.Context, vpcID, vpcCidr string, dbPort int) (map[string]*ec2.SecurityGroup, error) {
	sgs := map[string]*ec2.SecurityGroup{}
	// Application groups reach AWS APIs, image registries and third-party
	// services through the NAT, so their egress is open; ingress is what
	// is restricted.
	allOut := ec2.SecurityGroupEgressArray{ec2.SecurityGroupEgressArgs{
		Description: pulumi.String("all outbound"), Protocol: pulumi.String("-1"), FromPort: pulumi.Int(0), ToPort: pulumi.Int(0),
		CidrBlocks: pulumi.StringArray{pulumi.String(anywhere)},
	}}
	for _, g := range sgOrder {
		var ingress ec2.SecurityGroupIngressArray
		egress := allOut
		fromALB := func() ec2.SecurityGroupIngressArgs {
			r := tcp("TCP from the load balancer", 0, 65535)
			r.SecurityGroups = pulumi.StringArray{sgs["alb"].ID()}
			return r
		}
		switch g {
		case "alb":
			for _, port := range []int{80, 443} {
				r := tcp(fmt.Sprintf("port %d from the internet", port), port, port)
				r.CidrBlocks = pulumi.StringArray{pulumi.String(anywhere)}
				r.Ipv6CidrBlocks = pulumi.StringArray{pulumi.String("::/0")}
				ingress = append(ingress, r)
			}
			// The load balancer only talks to its targets inside the VPC.
			egress = ec2.SecurityGroupEgressArray{ec2.SecurityGroupEgressArgs{
				Description: pulumi.String("TCP to targets in the VPC"), Protocol: pulumi.String("tcp"),
				FromPort: pulumi.Int(0), ToPort: pulumi.Int(65535), CidrBlocks: pulumi.StringArray{pulumi.String(vpcCidr)},
			}}
		case "web", "api", "ecs":
			ingress = append(ingress, fromALB())
		case "eks":
			self := ec2.SecurityGroupIngressArgs{Description: pulumi.String("node to node"), Protocol: pulumi.String("-1"),
				FromPort: pulumi.Int(0), ToPort: pulumi.Int(0), Self: pulumi.Bool(true)}
			api := tcp("HTTPS from the VPC (control plane, webhooks)", 443, 443)
			api.CidrBlocks = pulumi.StringArray{pulumi.String(vpcCidr)}
			ingress = append(ingress, self, fromALB(), api)
		case "lambda":
		case "db":
			r := tcp("database port from the application groups", dbPort, dbPort)
			var src pulumi.StringArray
			for _, app := range []string{"web", "api", "ecs", "eks", "lambda"} {
				src = append(src, sgs[app].ID())
			}
			r.SecurityGroups = src
			ingress = append(ingress, r)
			// A database never opens connections.
			egress = ec2.SecurityGroupEgressArray{}
		}
		name := awskit.NameMax(c, g, 255)
		sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
			Name:        pulumi.String(name),
			Description: pulumi.String(sgDescriptions[g]),
			VpcId:       pulumi.String(vpcID),
			Ingress:     ingress,
			Egress:      egress,
			Tags:        awskit.NamedTags(c, name),
		})
		if err != nil {
			return nil, err
		}
		sgs[g] = sg
	}
	return sgs, nil
}

func newKey(ctx *pulumi.Context, c protocol.Context, purpose string, rotate bool, window int, acct, region string) (*kms.Key, error) {
	name := awskit.Name(c, purpose)
	policy, err := keyPolicy(purpose, acct, region)
	if err != nil {
		return nil, err
	}
	k, err := kms.NewKey(ctx, name, &kms.KeyArgs{
		Description:          pulumi.String(fmt.Sprintf("%s key of %s", purpose, awskit.Name(c, ""))),
		EnableKeyRotation:    pulumi.Bool(rotate),
		DeletionWindowInDays: pulumi.Int(window),
		Policy:               pulumi.String(policy),
		Tags:                 awskit.NamedTags(c, name),
	})
	if err != nil {
		return nil, err
	}
	if _, err := kms.NewAlias(ctx, name+"-alias", &kms.AliasArgs{
		Name:        pulumi.String("alias/" + name),
		TargetKeyId: k.KeyId,
	}); err != nil {
		return nil, err
	}
	return k, nil
}

// keyPolicy leaves access to IAM (the account root statement), and lets
// CloudWatch Logs use the infrastructure key for this account's log groups.
func keyPolicy(purpose, acct, region string) (string, error) {
	stmts := []map[string]any{{
		"Sid":       "AccountAdministersThroughIAM",
		"Effect":    "Allow",
		"Principal": map[string]any{"AWS": "arn:aws:iam::" + acct + ":root"},
		"Action":    "kms:*",
		"Resource":  "*",
	}}
	if purpose == "infrastructure" {
		stmts = append(stmts, map[string]any{
			"Sid":       "CloudWatchLogs",
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "logs." + region + ".amazonaws.com"},
			"Action":    []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"},
			"Resource":  "*",
			"Condition": map[string]any{"ArnLike": map[string]any{
				"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:" + region + ":" + acct + ":log-group:*",
			}},
		})
	}
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	return string(b), err
}

// assumeRole is the trust policy letting service assume a role.
func assumeRole(service string) string {
	b, _ := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": service},
			"Action":    "sts:AssumeRole",
		}},
	})
	return string(b)
}

// statement is one Allow statement of an IAM policy.
type statement struct {
	Actions   []string
	Resources []string
}

func policyJSON(stmts ...statement) (string, error) {
	list := make([]map[string]any, len(stmts))
	for i, s := range stmts {
		list[i] = map[string]any{"Effect": "Allow", "Action": s.Actions, "Resource": s.Resources}
	}
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": list})
	return string(b), err
}

// roleSpec describes one role: who assumes it, the AWS managed policies
// it needs (only where AWS documents them as the requirement, EKS), and
// its inline policy.
type roleSpec struct {
	purpose string
	service string
	managed []string
	inline  func(keyArn string) (string, error)
}

func newRoles(ctx *pulumi.Context, c protocol.Context, acct, region string, appKey *kms.Key) (map[string]*iam.Role, error) {
	arn := func(service, res string) string { return "arn:aws:" + service + ":" + region + ":" + acct + ":" + res }
	specs := []roleSpec{
		{purpose: "ecs-execution", service: "ecs-tasks.amazonaws.com", inline: func(key string) (string, error) {
			return policyJSON(
				statement{[]string{"ecr:GetAuthorizationToken"}, []string{"*"}}, // not resource-scoped by AWS
				statement{[]string{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"}, []string{arn("ecr", "repository/*")}},
				statement{[]string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{arn("logs", "log-group:*")}},
				statement{[]string{"kms:Decrypt"}, []string{key}},
			)
		}},
		{purpose: "ecs-task", service: "ecs-tasks.amazonaws.com", inline: func(key string) (string, error) {
			return policyJSON(statement{[]string{"kms:Decrypt", "kms:GenerateDataKey"}, []string{key}})
		}},
		{purpose: "eks-cluster", service: "eks.amazonaws.com", managed: []string{"AmazonEKSClusterPolicy"}},
		{purpose: "eks-node", service: "ec2.amazonaws.com", managed: []string{"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"}},
		{purpose: "lambda", service: "lambda.amazonaws.com", inline: func(key string) (string, error) {
			return policyJSON(
				statement{[]string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}, []string{arn("logs", "log-group:/aws/lambda/*")}},
				// ENI management for VPC functions cannot be resource-scoped.
				statement{[]string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
					"ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}, []string{"*"}},
				statement{[]string{"kms:Decrypt"}, []string{key}},
			)
		}},
	}
	roles := map[string]*iam.Role{}
	for _, s := range specs {
		name := awskit.NameMax(c, s.purpose, 64)
		role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
			Name:             pulumi.String(name),
			AssumeRolePolicy: pulumi.String(assumeRole(s.service)),
			Tags:             awskit.NamedTags(c, name),
		})
		if err != nil {
			return nil, err
		}
		roles[s.purpose] = role
		for _, p := range s.managed {
			if _, err := iam.NewRolePolicyAttachment(ctx, awskit.Name(c, s.purpose+"-"+p), &iam.RolePolicyAttachmentArgs{
				Role:      role.Name,
				PolicyArn: pulumi.String("arn:aws:iam::aws:policy/" + p),
			}); err != nil {
				return nil, err
			}
		}
		if s.inline != nil {
			inline := s.inline
			doc := appKey.Arn.ApplyT(func(key string) (string, error) { return inline(key) }).(pulumi.StringOutput)
			if _, err := iam.NewRolePolicy(ctx, awskit.Name(c, s.purpose+"-policy"), &iam.RolePolicyArgs{
				Name:   pulumi.String(awskit.NameMax(c, s.purpose, 128)),
				Role:   role.ID(),
				Policy: doc,
			}); err != nil {
				return nil, err
			}
		}
	}
	return roles, nil
}
