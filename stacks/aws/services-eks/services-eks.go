package main

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the services-eks stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "services-eks",
		Description:  "EKS cluster, OIDC provider, managed node groups (on-demand and spot), core add-ons",
		Dependencies: []string{"network", "security", "services-ecr"},
		Inputs: map[string]protocol.Input{
			"kubernetesVersion":     {Type: protocol.TypeString, Default: "1.31", Description: "Kubernetes version of the control plane and nodes"},
			"nodeInstanceTypes":     {Type: protocol.TypeArray, Default: []any{"t3.medium"}, Description: "instance types of the on-demand node group"},
			"desiredNodes":          {Type: protocol.TypeNumber, Default: 2.0, Description: "nodes the on-demand group starts with"},
			"minNodes":              {Type: protocol.TypeNumber, Default: 1.0, Description: "minimum nodes of the on-demand group"},
			"maxNodes":              {Type: protocol.TypeNumber, Default: 4.0, Description: "maximum nodes of the on-demand group"},
			"enableSpotNodes":       {Type: protocol.TypeBoolean, Default: true, Description: "add a spot node group, tainted so only workloads that tolerate interruption land on it"},
			"spotInstanceTypes":     {Type: protocol.TypeArray, Default: []any{"t3.medium", "t3a.medium", "t2.medium"}, Description: "instance types of the spot group; several spread the interruption risk"},
			"spotDesiredNodes":      {Type: protocol.TypeNumber, Default: 1.0, Description: "nodes the spot group starts with"},
			"spotMaxNodes":          {Type: protocol.TypeNumber, Default: 4.0, Description: "maximum nodes of the spot group (its minimum is 0)"},
			"nodeDiskSize":          {Type: protocol.TypeNumber, Default: 50.0, Description: "root volume of each node in GiB (encrypted gp3)"},
			"endpointPrivateAccess": {Type: protocol.TypeBoolean, Default: true, Description: "reach the Kubernetes API from inside the VPC"},
			"endpointPublicAccess":  {Type: protocol.TypeBoolean, Default: true, Description: "reach the Kubernetes API from the internet (limited to publicAccessCidrs)"},
			"publicAccessCidrs":     {Type: protocol.TypeArray, Default: []any{"0.0.0.0/0"}, Description: "CIDR blocks allowed to the public API endpoint"},
			"logRetentionDays":      {Type: protocol.TypeNumber, Default: 30.0, Description: "days the control-plane log group keeps its events"},
			"privateSubnetIds":      {Type: protocol.TypeArray, Required: true, Description: "subnets of the control-plane interfaces and the nodes (network's privateSubnetIds)", Example: []any{"subnet-0111aaaa2222bbbbc", "subnet-0333cccc4444ddddf"}},
			"eksSgId":               {Type: protocol.TypeString, Required: true, Description: "additional security group of the control plane (security's eksSgId)", Example: "sg-0e1f2a3b4c5d60718"},
			"eksClusterRoleArn":     {Type: protocol.TypeString, Required: true, Description: "role of the control plane (security's eksClusterRoleArn)", Example: "arn:aws:iam::123456789012:role/d0sample-security-dev-eks-cluster"},
			"eksNodeRoleArn":        {Type: protocol.TypeString, Required: true, Description: "role of the nodes (security's eksNodeRoleArn)", Example: "arn:aws:iam::123456789012:role/d0sample-security-dev-eks-node"},
			"applicationKeyArn":     {Type: protocol.TypeString, Required: true, Description: "KMS key Kubernetes secrets are encrypted with (security's applicationKeyArn)", Example: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		},
		Outputs: map[string]protocol.Output{
			"clusterName":     {Type: protocol.TypeString, Description: "name of the EKS cluster"},
			"clusterEndpoint": {Type: protocol.TypeString, Description: "URL of the Kubernetes API"},
			"oidcProviderArn": {Type: protocol.TypeString, Description: "ARN of the cluster's IAM OIDC provider, for IAM roles for service accounts"},
			"kubeconfig":      {Type: protocol.TypeString, Secret: true, Description: "kubeconfig of the cluster (authenticates with aws eks get-token)"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

var (
	versionPattern      = regexp.MustCompile(`^1\.[0-9]{2}$`)
	instanceTypePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	retentionDays       = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true,
		150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true,
		2922: true, 3288: true, 3653: true}
	// The add-ons every cluster runs; pod identity lets workloads get AWS
	// credentials without reaching the node's instance metadata.
	coreAddons = []string{"vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"}
)

// rootCAThumbprint is the thumbprint of the root CA of every EKS OIDC
// issuer; IAM no longer checks it for them but the API still takes one.
const rootCAThumbprint = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"

type nodes struct {
	types                   []string
	desired, min, max, disk int
}

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	version := in.String("kubernetesVersion")
	od := nodes{types: in.StringList("nodeInstanceTypes"), desired: in.Int("desiredNodes"), min: in.Int("minNodes"), max: in.Int("maxNodes")}
	spotOn := in.Bool("enableSpotNodes")
	spot := nodes{types: in.StringList("spotInstanceTypes"), desired: in.Int("spotDesiredNodes"), max: in.Int("spotMaxNodes")}
	od.disk = in.Int("nodeDiskSize")
	spot.disk = od.disk
	private := in.Bool("endpointPrivateAccess")
	public := in.Bool("endpointPublicAccess")
	cidrs := in.StringList("publicAccessCidrs")
	retention := in.Int("logRetentionDays")
	subnets := in.StringList("privateSubnetIds")
	sg := in.String("eksSgId")
	clusterRole := in.String("eksClusterRoleArn")
	nodeRole := in.String("eksNodeRoleArn")
	keyArn := in.String("applicationKeyArn")
	if err := in.Err(); err != nil {
		return err
	}
	if err := check(version, od, spotOn, spot, private, public, cidrs, retention, subnets); err != nil {
		return err
	}

	name := awskit.NameMax(c, "cluster", 100)
	// EKS writes control-plane logs to this fixed group; creating it first
	// gives it a retention instead of keeping logs forever.
	logName := "/aws/eks/" + name + "/cluster"
	logs, err := cloudwatch.NewLogGroup(ctx, awskit.Name(c, "cluster-logs"), &cloudwatch.LogGroupArgs{
		Name: pulumi.String(logName), RetentionInDays: pulumi.Int(retention), Tags: awskit.NamedTags(c, logName),
	})
	if err != nil {
		return fmt.Errorf("cluster log group: %w", err)
	}
	vpc := eks.ClusterVpcConfigArgs{
		SubnetIds:             pulumi.ToStringArray(subnets),
		SecurityGroupIds:      pulumi.StringArray{pulumi.String(sg)},
		EndpointPrivateAccess: pulumi.Bool(private),
		EndpointPublicAccess:  pulumi.Bool(public),
	}
	if public {
		vpc.PublicAccessCidrs = pulumi.ToStringArray(cidrs)
	}
	cluster, err := eks.NewCluster(ctx, name, &eks.ClusterArgs{
		Name:      pulumi.String(name),
		Version:   pulumi.String(version),
		RoleArn:   pulumi.String(clusterRole),
		VpcConfig: vpc,
		AccessConfig: eks.ClusterAccessConfigArgs{
			AuthenticationMode:                      pulumi.String("API"),
			BootstrapClusterCreatorAdminPermissions: pulumi.Bool(true),
		},
		EncryptionConfig: eks.ClusterEncryptionConfigArgs{
			Resources: pulumi.StringArray{pulumi.String("secrets")},
			Provider:  eks.ClusterEncryptionConfigProviderArgs{KeyArn: pulumi.String(keyArn)},
		},
		EnabledClusterLogTypes: pulumi.ToStringArray([]string{"api", "audit", "authenticator", "controllerManager", "scheduler"}),
		Tags:                   awskit.NamedTags(c, name),
	}, pulumi.DependsOn([]pulumi.Resource{logs}))
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}

	issuer := cluster.Identities.ApplyT(func(ids []eks.ClusterIdentity) (string, error) {
		if len(ids) == 0 || len(ids[0].Oidcs) == 0 || ids[0].Oidcs[0].Issuer == nil {
			return "", fmt.Errorf("cluster %s reports no OIDC issuer", name)
		}
		return *ids[0].Oidcs[0].Issuer, nil
	}).(pulumi.StringOutput)
	oidc, err := iam.NewOpenIdConnectProvider(ctx, awskit.Name(c, "oidc"), &iam.OpenIdConnectProviderArgs{
		Url:             issuer,
		ClientIdLists:   pulumi.StringArray{pulumi.String("sts.amazonaws.com")},
		ThumbprintLists: pulumi.StringArray{pulumi.String(rootCAThumbprint)},
		Tags:            awskit.NamedTags(c, awskit.Name(c, "oidc")),
	})
	if err != nil {
		return fmt.Errorf("oidc provider: %w", err)
	}

	groups := []pulumi.Resource{}
	g, err := nodeGroup(ctx, c, cluster, "ON_DEMAND", "nodes", od, subnets, nodeRole, version)
	if err != nil {
		return err
	}
	groups = append(groups, g)
	if spotOn {
		g, err := nodeGroup(ctx, c, cluster, "SPOT", "spot", spot, subnets, nodeRole, version)
		if err != nil {
			return err
		}
		groups = append(groups, g)
	}
	for _, addon := range coreAddons {
		var opts []pulumi.ResourceOption
		if addon == "coredns" {
			// CoreDNS pods need nodes to schedule on, or the add-on
			// never turns active.
			opts = append(opts, pulumi.DependsOn(groups))
		}
		if _, err := eks.NewAddon(ctx, awskit.Name(c, addon), &eks.AddonArgs{
			ClusterName: cluster.Name, AddonName: pulumi.String(addon),
			ResolveConflictsOnCreate: pulumi.String("OVERWRITE"), ResolveConflictsOnUpdate: pulumi.String("OVERWRITE"),
			Tags: awskit.NamedTags(c, awskit.Name(c, addon)),
		}, opts...); err != nil {
			return fmt.Errorf("add-on %s: %w", addon, err)
		}
	}

	kubeconfig := pulumi.All(cluster.Name, cluster.Endpoint, cluster.CertificateAuthority.Data()).ApplyT(func(xs []any) (string, error) {
		ca, _ := xs[2].(*string)
		if ca == nil {
			return "", fmt.Errorf("cluster %s reports no certificate authority", name)
		}
		return kubeconfigFor(xs[0].(string), xs[1].(string), *ca, c.Region)
	}).(pulumi.StringOutput)

	out.Export("clusterName", cluster.Name)
	out.Export("clusterEndpoint", cluster.Endpoint)
	out.Export("oidcProviderArn", oidc.Arn)
	out.Export("kubeconfig", pulumi.ToSecret(kubeconfig))
	return nil
}

func check(version string, od nodes, spotOn bool, spot nodes, private, public bool, cidrs []string, retention int, subnets []string) error {
	switch {
	case !versionPattern.MatchString(version):
		return fmt.Errorf("input \"kubernetesVersion\": %q is not a Kubernetes minor version like 1.31", version)
	case len(od.types) == 0:
		return fmt.Errorf("input \"nodeInstanceTypes\" lists no instance type")
	case od.min < 0 || od.max < 1 || od.min > od.max:
		return fmt.Errorf("input \"maxNodes\" (%d) must be at least 1 and at least minNodes (%d)", od.max, od.min)
	case od.desired < od.min || od.desired > od.max:
		return fmt.Errorf("input \"desiredNodes\" (%d) must be between minNodes (%d) and maxNodes (%d)", od.desired, od.min, od.max)
	case spotOn && len(spot.types) == 0:
		return fmt.Errorf("input \"spotInstanceTypes\" lists no instance type")
	case spotOn && spot.max < 1:
		return fmt.Errorf("input \"spotMaxNodes\" must be at least 1, got %d", spot.max)
	case spotOn && (spot.desired < 0 || spot.desired > spot.max):
		return fmt.Errorf("input \"spotDesiredNodes\" (%d) must be between 0 and spotMaxNodes (%d)", spot.desired, spot.max)
	case od.disk < 20 || od.disk > 16384:
		return fmt.Errorf("input \"nodeDiskSize\" must be between 20 and 16384 GiB, got %d", od.disk)
	case !private && !public:
		return fmt.Errorf("input \"endpointPrivateAccess\": the API needs a private or a public endpoint; both are off")
	case !retentionDays[retention]:
		return fmt.Errorf("input \"logRetentionDays\": %d is not a CloudWatch Logs retention period", retention)
	case len(subnets) < 2:
		return fmt.Errorf("input \"privateSubnetIds\": EKS needs subnets in at least 2 zones, got %d", len(subnets))
	}
	for i, t := range append(append([]string{}, od.types...), spot.types...) {
		if !instanceTypePattern.MatchString(t) {
			field := "nodeInstanceTypes"
			if i >= len(od.types) {
				field, i = "spotInstanceTypes", i-len(od.types)
			}
			return fmt.Errorf("input \"%s[%d]\": %q is not an EC2 instance type", field, i, t)
		}
	}
	for i, cidr := range cidrs {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			return fmt.Errorf("input \"publicAccessCidrs[%d]\": %q is not a CIDR block", i, cidr)
		}
	}
	return nil
}

// nodeGroup is a managed node group on a launch template that requires
// IMDSv2 and encrypts the root volume.
func nodeGroup(ctx *pulumi.Context, c protocol.Context, cluster *eks.Cluster, capacity, purpose string, n nodes,
	subnets []string, role, version string) (*eks.NodeGroup, error) {
	ltName := awskit.NameMax(c, purpose, 128)
	tags := awskit.NamedTags(c, ltName)
	lt, err := ec2.NewLaunchTemplate(ctx, awskit.Name(c, purpose+"-template"), &ec2.LaunchTemplateArgs{
		Name: pulumi.String(ltName),
		// A hop limit of 1 keeps pods away from the node's credentials;
		// they get their own through pod identity.
		MetadataOptions: ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint: pulumi.String("enabled"), HttpTokens: pulumi.String("required"), HttpPutResponseHopLimit: pulumi.Int(1),
		},
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{ec2.LaunchTemplateBlockDeviceMappingArgs{
			DeviceName: pulumi.String("/dev/xvda"),
			Ebs: ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
				VolumeSize: pulumi.Int(n.disk), VolumeType: pulumi.String("gp3"),
				Encrypted: pulumi.String("true"), DeleteOnTermination: pulumi.String("true"),
			},
		}},
		TagSpecifications: ec2.LaunchTemplateTagSpecificationArray{
			ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("instance"), Tags: tags},
			ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("volume"), Tags: tags},
		},
		Tags: tags,
	})
	if err != nil {
		return nil, fmt.Errorf("%s launch template: %w", purpose, err)
	}
	args := &eks.NodeGroupArgs{
		ClusterName:   cluster.Name,
		NodeGroupName: pulumi.String(awskit.NameMax(c, purpose, 63)),
		NodeRoleArn:   pulumi.String(role),
		SubnetIds:     pulumi.ToStringArray(subnets),
		CapacityType:  pulumi.String(capacity),
		InstanceTypes: pulumi.ToStringArray(n.types),
		Version:       pulumi.String(version),
		AmiType:       pulumi.String("AL2023_x86_64_STANDARD"),
		ScalingConfig: eks.NodeGroupScalingConfigArgs{
			DesiredSize: pulumi.Int(n.desired), MinSize: pulumi.Int(n.min), MaxSize: pulumi.Int(n.max),
		},
		UpdateConfig:   eks.NodeGroupUpdateConfigArgs{MaxUnavailablePercentage: pulumi.Int(33)},
		LaunchTemplate: eks.NodeGroupLaunchTemplateArgs{Id: lt.ID(), Version: lt.LatestVersion.ApplyT(func(v int) string { return fmt.Sprint(v) }).(pulumi.StringOutput)},
		Labels:         pulumi.StringMap{"capacity": pulumi.String(map[string]string{"ON_DEMAND": "on-demand", "SPOT": "spot"}[capacity])},
		Tags:           awskit.NamedTags(c, awskit.NameMax(c, purpose, 63)),
	}
	if capacity == "SPOT" {
		args.Taints = eks.NodeGroupTaintArray{eks.NodeGroupTaintArgs{
			Key: pulumi.String("capacity"), Value: pulumi.String("spot"), Effect: pulumi.String("NO_SCHEDULE"),
		}}
	}
	// The cluster autoscaler owns the node count once the group exists.
	g, err := eks.NewNodeGroup(ctx, awskit.Name(c, purpose), args, pulumi.IgnoreChanges([]string{"scalingConfig.desiredSize"}))
	if err != nil {
		return nil, fmt.Errorf("%s node group: %w", purpose, err)
	}
	return g, nil
}

// kubeconfigFor is a kubeconfig (JSON, which is YAML) that authenticates
// with the caller's AWS credentials through aws eks get-token.
func kubeconfigFor(name, endpoint, ca, region string) (string, error) {
	doc := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": name,
		"clusters": []any{map[string]any{"name": name, "cluster": map[string]any{
			"server": endpoint, "certificate-authority-data": ca,
		}}},
		"contexts": []any{map[string]any{"name": name, "context": map[string]any{"cluster": name, "user": name}}},
		"users": []any{map[string]any{"name": name, "user": map[string]any{"exec": map[string]any{
			"apiVersion": "client.authentication.k8s.io/v1beta1",
			"command":    "aws",
			"args":       []string{"eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"},
		}}}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("kubeconfig: %w", err)
	}
	return string(b), nil
}
