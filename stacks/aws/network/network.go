package main

import (
	"encoding/json"
	"fmt"
	"net"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the network stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:        "network",
		Description: "VPC across 2-3 AZs with public, private and database subnets, internet and NAT gateways, route tables, optional flow logs and S3/ECR VPC endpoints",
		Inputs: map[string]protocol.Input{
			"vpcCidr":              {Type: protocol.TypeString, Default: "10.0.0.0/16", Description: "IPv4 CIDR block of the VPC, /16 to /24; each subnet gets 1/16 of it"},
			"availabilityZones":    {Type: protocol.TypeNumber, Default: 2.0, Description: "number of availability zones to span: 2 or 3"},
			"highAvailabilityNat":  {Type: protocol.TypeBoolean, Default: false, Description: "one NAT gateway per availability zone instead of a single shared one"},
			"enableFlowLogs":       {Type: protocol.TypeBoolean, Default: true, Description: "send VPC flow logs (all traffic) to a CloudWatch log group"},
			"flowLogRetentionDays": {Type: protocol.TypeNumber, Default: 90.0, Description: "days the flow log group keeps its events"},
			"enableVpcEndpoints":   {Type: protocol.TypeBoolean, Default: true, Description: "create an S3 gateway endpoint and ECR (api, dkr) interface endpoints, so image pulls and S3 traffic avoid the NAT"},
		},
		Outputs: map[string]protocol.Output{
			"vpcId":             {Type: protocol.TypeString, Description: "ID of the VPC"},
			"vpcCidrBlock":      {Type: protocol.TypeString, Description: "IPv4 CIDR block of the VPC"},
			"publicSubnetIds":   {Type: protocol.TypeArray, Description: "IDs of the public subnets, one per availability zone"},
			"privateSubnetIds":  {Type: protocol.TypeArray, Description: "IDs of the private (NAT-routed) subnets, one per availability zone"},
			"databaseSubnetIds": {Type: protocol.TypeArray, Description: "IDs of the isolated database subnets, one per availability zone"},
			"availabilityZones": {Type: protocol.TypeArray, Description: "names of the availability zones spanned"},
			"natGatewayIds":     {Type: protocol.TypeArray, Description: "IDs of the NAT gateways"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

// Each tier owns a block of four subnet slots (newbits 4 gives sixteen),
// so the CIDR of a subnet never moves when the number of zones changes.
const (
	subnetNewBits = 4
	publicBase    = 0
	privateBase   = 4
	databaseBase  = 8
)

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	cidr := in.String("vpcCidr")
	nAZ := in.Int("availabilityZones")
	haNat := in.Bool("highAvailabilityNat")
	flowLogs := in.Bool("enableFlowLogs")
	retention := in.Int("flowLogRetentionDays")
	endpoints := in.Bool("enableVpcEndpoints")
	if err := in.Err(); err != nil {
		return err
	}
	block, err := parseVpcCidr(cidr)
	if err != nil {
		return err
	}
	if n := in.Number("availabilityZones"); n != float64(nAZ) || (nAZ != 2 && nAZ != 3) {
		return fmt.Errorf("input \"availabilityZones\" must be 2 or 3, got %v", n)
	}
	zones, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{State: pulumi.StringRef("available")})
	if err != nil {
		return fmt.Errorf("list availability zones: %w", err)
	}
	if len(zones.Names) < nAZ {
		return fmt.Errorf("input \"availabilityZones\" asks for %d zones but the region has %d available", nAZ, len(zones.Names))
	}
	azs := zones.Names[:nAZ]

	vpcName := awskit.Name(c, "vpc")
	vpc, err := ec2.NewVpc(ctx, vpcName, &ec2.VpcArgs{
		CidrBlock:          pulumi.String(block.String()),
		EnableDnsSupport:   pulumi.Bool(true),
		EnableDnsHostnames: pulumi.Bool(true), // interface endpoints with private DNS need it
		Tags:               awskit.NamedTags(c, vpcName),
	})
	if err != nil {
		return err
	}

	igwName := awskit.Name(c, "igw")
	igw, err := ec2.NewInternetGateway(ctx, igwName, &ec2.InternetGatewayArgs{VpcId: vpc.ID(), Tags: awskit.NamedTags(c, igwName)})
	if err != nil {
		return err
	}

	var public, private, database pulumi.StringArray
	var publicSubnets []*ec2.Subnet
	tiers := []struct {
		tier   string
		base   int
		public bool
		ids    *pulumi.StringArray
	}{
		{"public", publicBase, true, &public},
		{"private", privateBase, false, &private},
		{"database", databaseBase, false, &database},
	}
	subnets := map[string][]*ec2.Subnet{}
	for _, t := range tiers {
		for i, az := range azs {
			sub, err := subnetCIDR(block, subnetNewBits, t.base+i)
			if err != nil {
				return err
			}
			name := awskit.Name(c, fmt.Sprintf("%s-%s", t.tier, az))
			s, err := ec2.NewSubnet(ctx, name, &ec2.SubnetArgs{
				VpcId:               vpc.ID(),
				CidrBlock:           pulumi.String(sub),
				AvailabilityZone:    pulumi.String(az),
				MapPublicIpOnLaunch: pulumi.Bool(t.public),
				Tags:                awskit.Tags(c, map[string]string{"Name": name, "tier": t.tier}),
			})
			if err != nil {
				return err
			}
			subnets[t.tier] = append(subnets[t.tier], s)
			*t.ids = append(*t.ids, s.ID())
		}
	}
	publicSubnets = subnets["public"]

	// Public tier: one route table with the default route to the internet.
	pubRTName := awskit.Name(c, "public-rt")
	pubRT, err := ec2.NewRouteTable(ctx, pubRTName, &ec2.RouteTableArgs{
		VpcId:  vpc.ID(),
		Routes: ec2.RouteTableRouteArray{ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), GatewayId: igw.ID()}},
		Tags:   awskit.NamedTags(c, pubRTName),
	})
	if err != nil {
		return err
	}
	for i, s := range publicSubnets {
		if _, err := ec2.NewRouteTableAssociation(ctx, awskit.Name(c, fmt.Sprintf("public-rta-%s", azs[i])),
			&ec2.RouteTableAssociationArgs{SubnetId: s.ID(), RouteTableId: pubRT.ID()}); err != nil {
			return err
		}
	}

	// NAT: one per zone for zone independence, or a single one to save cost.
	nNat := 1
	if haNat {
		nNat = nAZ
	}
	var nats []*ec2.NatGateway
	var natIDs pulumi.StringArray
	for i := 0; i < nNat; i++ {
		eipName := awskit.Name(c, fmt.Sprintf("nat-eip-%s", azs[i]))
		eip, err := ec2.NewEip(ctx, eipName, &ec2.EipArgs{Domain: pulumi.String("vpc"), Tags: awskit.NamedTags(c, eipName)},
			pulumi.DependsOn([]pulumi.Resource{igw}))
		if err != nil {
			return err
		}
		natName := awskit.Name(c, fmt.Sprintf("nat-%s", azs[i]))
		nat, err := ec2.NewNatGateway(ctx, natName, &ec2.NatGatewayArgs{
			AllocationId: eip.ID(),
			SubnetId:     publicSubnets[i].ID(),
			Tags:         awskit.NamedTags(c, natName),
		}, pulumi.DependsOn([]pulumi.Resource{igw}))
		if err != nil {
			return err
		}
		nats = append(nats, nat)
		natIDs = append(natIDs, nat.ID())
	}

	// Private tier: a route table per zone so each zone uses its own NAT
	// when there is one per zone.
	var privateRTs pulumi.StringArray
	for i, s := range subnets["private"] {
		name := awskit.Name(c, fmt.Sprintf("private-rt-%s", azs[i]))
		rt, err := ec2.NewRouteTable(ctx, name, &ec2.RouteTableArgs{
			VpcId:  vpc.ID(),
			Routes: ec2.RouteTableRouteArray{ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), NatGatewayId: nats[i%len(nats)].ID()}},
			Tags:   awskit.NamedTags(c, name),
		})
		if err != nil {
			return err
		}
		privateRTs = append(privateRTs, rt.ID())
		if _, err := ec2.NewRouteTableAssociation(ctx, awskit.Name(c, fmt.Sprintf("private-rta-%s", azs[i])),
			&ec2.RouteTableAssociationArgs{SubnetId: s.ID(), RouteTableId: rt.ID()}); err != nil {
			return err
		}
	}

	// Database tier: isolated, no route out of the VPC.
	dbRTName := awskit.Name(c, "database-rt")
	dbRT, err := ec2.NewRouteTable(ctx, dbRTName, &ec2.RouteTableArgs{VpcId: vpc.ID(), Tags: awskit.NamedTags(c, dbRTName)})
	if err != nil {
		return err
	}
	for i, s := range subnets["database"] {
		if _, err := ec2.NewRouteTableAssociation(ctx, awskit.Name(c, fmt.Sprintf("database-rta-%s", azs[i])),
			&ec2.RouteTableAssociationArgs{SubnetId: s.ID(), RouteTableId: dbRT.ID()}); err != nil {
			return err
		}
	}

	if flowLogs {
		account, err := awskit.AccountOf(ctx, c)
		if err != nil {
			return err
		}
		if err := newFlowLogs(ctx, c, vpc, retention, account); err != nil {
			return err
		}
	}
	if endpoints {
		rts := append(pulumi.StringArray{pubRT.ID()}, privateRTs...)
		rts = append(rts, dbRT.ID())
		if err := newEndpoints(ctx, c, vpc, block.String(), private, rts); err != nil {
			return err
		}
	}

	out.Export("vpcId", vpc.ID())
	out.Export("vpcCidrBlock", vpc.CidrBlock)
	out.Export("publicSubnetIds", public)
	out.Export("privateSubnetIds", private)
	out.Export("databaseSubnetIds", database)
	out.Export("availabilityZones", pulumi.ToStringArray(azs))
	out.Export("natGatewayIds", natIDs)
	return nil
}

// parseVpcCidr accepts an IPv4 network between /16 (the largest VPC AWS
// allows) and /24 (the smallest that still leaves /28 subnets).
func parseVpcCidr(s string) (*net.IPNet, error) {
	ip, block, err := net.ParseCIDR(s)
	if err != nil || ip.To4() == nil {
		return nil, fmt.Errorf("input \"vpcCidr\": %q is not an IPv4 CIDR block such as 10.0.0.0/16", s)
	}
	if ones, _ := block.Mask.Size(); ones < 16 || ones > 24 {
		return nil, fmt.Errorf("input \"vpcCidr\": prefix /%d is outside /16 to /24", ones)
	}
	if !ip.Equal(block.IP) {
		return nil, fmt.Errorf("input \"vpcCidr\": %q has host bits set; did you mean %s?", s, block)
	}
	return block, nil
}

// subnetCIDR is the netnum-th subnet of block that is newbits longer, like
// Terraform's cidrsubnet.
func subnetCIDR(block *net.IPNet, newbits, netnum int) (string, error) {
	ones, bits := block.Mask.Size()
	if netnum >= 1<<newbits || ones+newbits > bits {
		return "", fmt.Errorf("subnet %d of %s does not fit", netnum, block)
	}
	ip := block.IP.To4()
	base := uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
	base |= uint32(netnum) << (bits - ones - newbits)
	out := net.IPv4(byte(base>>24), byte(base>>16), byte(base>>8), byte(base))
	return fmt.Sprintf("%s/%d", out, ones+newbits), nil
}

func newFlowLogs(ctx *pulumi.Context, c protocol.Context, vpc *ec2.Vpc, retention int, account string) error {
	lgName := awskit.Name(c, "flow-logs")
	lg, err := cloudwatch.NewLogGroup(ctx, lgName, &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(lgName),
		RetentionInDays: pulumi.Int(retention),
		Tags:            awskit.NamedTags(c, lgName),
	})
	if err != nil {
		return err
	}
	roleName := awskit.NameMax(c, "flow-logs", 64)
	assume, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "vpc-flow-logs.amazonaws.com"},
			"Action":    "sts:AssumeRole",
			// Only on behalf of this account (confused-deputy protection).
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}},
		}},
	})
	if err != nil {
		return err
	}
	role, err := iam.NewRole(ctx, roleName, &iam.RoleArgs{
		Name:             pulumi.String(roleName),
		AssumeRolePolicy: pulumi.String(string(assume)),
		Tags:             awskit.NamedTags(c, roleName),
	})
	if err != nil {
		return err
	}
	policy := lg.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []map[string]any{{
				"Effect":   "Allow",
				"Action":   flowLogActions,
				"Resource": []string{arn, arn + ":*"},
			}},
		})
		return string(b), err
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, awskit.Name(c, "flow-logs-policy"), &iam.RolePolicyArgs{
		Name:   pulumi.String(awskit.NameMax(c, "flow-logs-policy", 128)),
		Role:   role.ID(),
		Policy: policy,
	}); err != nil {
		return err
	}
	flName := awskit.Name(c, "flow-log")
	_, err = ec2.NewFlowLog(ctx, flName, &ec2.FlowLogArgs{
		VpcId:              vpc.ID(),
		TrafficType:        pulumi.String("ALL"),
		LogDestinationType: pulumi.String("cloud-watch-logs"),
		LogDestination:     lg.Arn,
		IamRoleArn:         role.Arn,
		Tags:               awskit.NamedTags(c, flName),
	})
	return err
}

// flowLogActions are what the flow-logs service needs on its log group.
var flowLogActions = []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"}

func newEndpoints(ctx *pulumi.Context, c protocol.Context, vpc *ec2.Vpc, cidr string, private, routeTables pulumi.StringArray) error {
	region, err := awskit.RegionOf(ctx, c)
	if err != nil {
		return err
	}
	s3Name := awskit.Name(c, "s3-endpoint")
	if _, err := ec2.NewVpcEndpoint(ctx, s3Name, &ec2.VpcEndpointArgs{
		VpcId:           vpc.ID(),
		ServiceName:     pulumi.String("com.amazonaws." + region + ".s3"),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   routeTables,
		Tags:            awskit.NamedTags(c, s3Name),
	}); err != nil {
		return err
	}
	sgName := awskit.NameMax(c, "endpoints", 255)
	sg, err := ec2.NewSecurityGroup(ctx, sgName, &ec2.SecurityGroupArgs{
		Name:        pulumi.String(sgName),
		Description: pulumi.String("HTTPS from inside the VPC to the interface endpoints"),
		VpcId:       vpc.ID(),
		Ingress: ec2.SecurityGroupIngressArray{ec2.SecurityGroupIngressArgs{
			Description: pulumi.String("HTTPS from the VPC"),
			Protocol:    pulumi.String("tcp"), FromPort: pulumi.Int(443), ToPort: pulumi.Int(443),
			CidrBlocks: pulumi.StringArray{pulumi.String(cidr)},
		}},
		Tags: awskit.NamedTags(c, sgName),
	})
	if err != nil {
		return err
	}
	for _, svc := range []string{"ecr.api", "ecr.dkr"} {
		name := awskit.Name(c, svc[len("ecr."):]+"-ecr-endpoint")
		if _, err := ec2.NewVpcEndpoint(ctx, name, &ec2.VpcEndpointArgs{
			VpcId:             vpc.ID(),
			ServiceName:       pulumi.String("com.amazonaws." + region + "." + svc),
			VpcEndpointType:   pulumi.String("Interface"),
			SubnetIds:         private,
			SecurityGroupIds:  pulumi.StringArray{sg.ID()},
			PrivateDnsEnabled: pulumi.Bool(true),
			Tags:              awskit.NamedTags(c, name),
		}); err != nil {
			return err
		}
	}
	return nil
}
