package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

const (
	typeSubnet   = "aws:ec2/subnet:Subnet"
	typeNat      = "aws:ec2/natGateway:NatGateway"
	typeEip      = "aws:ec2/eip:Eip"
	typeRT       = "aws:ec2/routeTable:RouteTable"
	typeRTA      = "aws:ec2/routeTableAssociation:RouteTableAssociation"
	typeEndpoint = "aws:ec2/vpcEndpoint:VpcEndpoint"
	typeFlowLog  = "aws:ec2/flowLog:FlowLog"
	typeRole     = "aws:iam/role:Role"
	typePolicy   = "aws:iam/rolePolicy:RolePolicy"
	typeLogGroup = "aws:cloudwatch/logGroup:LogGroup"
)

func TestNetwork_Defaults(t *testing.T) {
	r := awstest.Run(t, Stack, nil)
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)

	vpc := r.One(t, "aws:ec2/vpc:Vpc", "-vpc")
	if vpc.Inputs["cidrBlock"] != "10.0.0.0/16" || vpc.Inputs["enableDnsHostnames"] != true {
		t.Errorf("vpc inputs = %v", vpc.Inputs)
	}
	if got := len(r.OfType("aws:ec2/internetGateway:InternetGateway")); got != 1 {
		t.Errorf("internet gateways = %d, want 1", got)
	}
	if got := r.Values["availabilityZones"]; !reflect.DeepEqual(got, []string{"us-east-1a", "us-east-1b"}) {
		t.Errorf("availabilityZones output = %#v", got)
	}
	for _, k := range []string{"publicSubnetIds", "privateSubnetIds", "databaseSubnetIds"} {
		if ids, _ := r.Values[k].([]string); len(ids) != 2 {
			t.Errorf("%s = %v, want 2 IDs", k, r.Values[k])
		}
	}
	if ids, _ := r.Values["natGatewayIds"].([]string); len(ids) != 1 {
		t.Errorf("natGatewayIds = %v, want one NAT without highAvailabilityNat", r.Values["natGatewayIds"])
	}
	if got := len(r.OfType(typeNat)); got != 1 {
		t.Errorf("NAT gateways = %d, want 1", got)
	}
	if got := len(r.OfType(typeEip)); got != 1 {
		t.Errorf("EIPs = %d, want 1", got)
	}
	// Both private route tables go to the single NAT.
	for _, rt := range r.OfType(typeRT) {
		if !strings.Contains(rt.Name, "-private-rt-") {
			continue
		}
		routes, _ := rt.Inputs["routes"].([]any)
		if len(routes) != 1 || routes[0].(map[string]any)["natGatewayId"] != "d1a2b3c4-network-dev-nat-us-east-1a-id" {
			t.Errorf("%s routes = %v, want default route to the one NAT", rt.Name, routes)
		}
	}
	pub := r.One(t, typeRT, "-public-rt")
	if routes, _ := pub.Inputs["routes"].([]any); len(routes) != 1 || routes[0].(map[string]any)["gatewayId"] != "d1a2b3c4-network-dev-igw-id" {
		t.Errorf("public routes = %v", pub.Inputs["routes"])
	}
	db := r.One(t, typeRT, "-database-rt")
	if routes, _ := db.Inputs["routes"].([]any); len(routes) != 0 {
		t.Errorf("database route table has routes %v, want none (isolated)", routes)
	}
	if got := len(r.OfType(typeRTA)); got != 6 {
		t.Errorf("route table associations = %d, want 6", got)
	}
}

func TestNetwork_SubnetsPerAZ(t *testing.T) {
	cases := []struct {
		azs  float64
		want map[string]string // subnet name suffix -> CIDR
	}{
		{2, map[string]string{
			"public-us-east-1a": "10.0.0.0/20", "public-us-east-1b": "10.0.16.0/20",
			"private-us-east-1a": "10.0.64.0/20", "private-us-east-1b": "10.0.80.0/20",
			"database-us-east-1a": "10.0.128.0/20", "database-us-east-1b": "10.0.144.0/20",
		}},
		{3, map[string]string{
			"public-us-east-1a": "10.0.0.0/20", "public-us-east-1b": "10.0.16.0/20", "public-us-east-1c": "10.0.32.0/20",
			"private-us-east-1a": "10.0.64.0/20", "private-us-east-1b": "10.0.80.0/20", "private-us-east-1c": "10.0.96.0/20",
			"database-us-east-1a": "10.0.128.0/20", "database-us-east-1b": "10.0.144.0/20", "database-us-east-1c": "10.0.160.0/20",
		}},
	}
	for _, tc := range cases {
		r := awstest.Run(t, Stack, map[string]any{"availabilityZones": tc.azs})
		subnets := r.OfType(typeSubnet)
		if len(subnets) != len(tc.want) {
			t.Errorf("%v AZs: %d subnets, want %d", tc.azs, len(subnets), len(tc.want))
		}
		for suffix, cidr := range tc.want {
			s := r.One(t, typeSubnet, "-"+suffix)
			if s.Inputs["cidrBlock"] != cidr {
				t.Errorf("%v AZs: %s cidr = %v, want %s", tc.azs, suffix, s.Inputs["cidrBlock"], cidr)
			}
			az := suffix[strings.Index(suffix, "us-"):]
			if s.Inputs["availabilityZone"] != az {
				t.Errorf("%s az = %v", suffix, s.Inputs["availabilityZone"])
			}
			if public := strings.HasPrefix(suffix, "public"); s.Inputs["mapPublicIpOnLaunch"] != public {
				t.Errorf("%s mapPublicIpOnLaunch = %v, want %v", suffix, s.Inputs["mapPublicIpOnLaunch"], public)
			}
		}
		r.AssertOutputs(t)
		r.AssertNamesAndTags(t)
	}
}

func TestNetwork_CustomCidr(t *testing.T) {
	r := awstest.Run(t, Stack, map[string]any{"vpcCidr": "172.16.0.0/20"})
	if s := r.One(t, typeSubnet, "-database-us-east-1b"); s.Inputs["cidrBlock"] != "172.16.9.0/24" {
		t.Errorf("database b cidr = %v, want 172.16.9.0/24", s.Inputs["cidrBlock"])
	}
}

func TestNetwork_HighAvailabilityNat(t *testing.T) {
	r := awstest.Run(t, Stack, map[string]any{"availabilityZones": 3.0, "highAvailabilityNat": true})
	nats := r.OfType(typeNat)
	if len(nats) != 3 {
		t.Fatalf("NAT gateways = %d, want 3", len(nats))
	}
	if ids, _ := r.Values["natGatewayIds"].([]string); len(ids) != 3 {
		t.Errorf("natGatewayIds = %v", r.Values["natGatewayIds"])
	}
	for _, az := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		nat := r.One(t, typeNat, "-nat-"+az)
		if nat.Inputs["subnetId"] != "d1a2b3c4-network-dev-public-"+az+"-id" {
			t.Errorf("NAT %s in subnet %v, want the public subnet of its zone", az, nat.Inputs["subnetId"])
		}
		rt := r.One(t, typeRT, "-private-rt-"+az)
		routes, _ := rt.Inputs["routes"].([]any)
		if len(routes) != 1 || routes[0].(map[string]any)["natGatewayId"] != "d1a2b3c4-network-dev-nat-"+az+"-id" {
			t.Errorf("private %s routes = %v, want its own zone's NAT", az, routes)
		}
	}
}

func TestNetwork_FlowLogs(t *testing.T) {
	r := awstest.Run(t, Stack, nil)
	fl := r.One(t, typeFlowLog, "-flow-log")
	if fl.Inputs["trafficType"] != "ALL" || fl.Inputs["logDestinationType"] != "cloud-watch-logs" || fl.Inputs["vpcId"] != "d1a2b3c4-network-dev-vpc-id" {
		t.Errorf("flow log inputs = %v", fl.Inputs)
	}
	lg := r.One(t, typeLogGroup, "-flow-logs")
	if lg.Inputs["retentionInDays"] != 90.0 {
		t.Errorf("retention = %v", lg.Inputs["retentionInDays"])
	}
	role := r.One(t, typeRole, "-flow-logs")
	var assume struct {
		Statement []struct {
			Principal struct{ Service string }
			Action    string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(role.Inputs["assumeRolePolicy"].(string)), &assume); err != nil {
		t.Fatal(err)
	}
	if len(assume.Statement) != 1 || assume.Statement[0].Principal.Service != "vpc-flow-logs.amazonaws.com" || assume.Statement[0].Action != "sts:AssumeRole" ||
		assume.Statement[0].Condition["StringEquals"]["aws:SourceAccount"] != "123456789012" {
		t.Errorf("assume role policy = %+v", assume)
	}
	pol := r.One(t, typePolicy, "-flow-logs-policy")
	var doc struct {
		Statement []struct {
			Action   []string
			Resource []string
		}
	}
	if err := json.Unmarshal([]byte(pol.Inputs["policy"].(string)), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 1 || !reflect.DeepEqual(doc.Statement[0].Action, flowLogActions) {
		t.Errorf("policy = %+v", doc)
	}
	for _, res := range doc.Statement[0].Resource {
		if !strings.Contains(res, "flow-logs") || res == "*" {
			t.Errorf("policy resource %q is not the flow log group", res)
		}
	}

	off := awstest.Run(t, Stack, map[string]any{"enableFlowLogs": false})
	if n := len(off.OfType(typeFlowLog)) + len(off.OfType(typeRole)) + len(off.OfType(typeLogGroup)); n != 0 {
		t.Errorf("enableFlowLogs=false still creates %d flow-log resources", n)
	}
}

func TestNetwork_Endpoints(t *testing.T) {
	r := awstest.Run(t, Stack, nil)
	s3 := r.One(t, typeEndpoint, "-s3-endpoint")
	if s3.Inputs["serviceName"] != "com.amazonaws.us-east-1.s3" || s3.Inputs["vpcEndpointType"] != "Gateway" {
		t.Errorf("s3 endpoint = %v", s3.Inputs)
	}
	if rts, _ := s3.Inputs["routeTableIds"].([]any); len(rts) != 4 {
		t.Errorf("s3 endpoint route tables = %v, want public, 2 private, database", rts)
	}
	for _, svc := range []string{"api", "dkr"} {
		e := r.One(t, typeEndpoint, "-"+svc+"-ecr-endpoint")
		if e.Inputs["serviceName"] != "com.amazonaws.us-east-1.ecr."+svc || e.Inputs["vpcEndpointType"] != "Interface" || e.Inputs["privateDnsEnabled"] != true {
			t.Errorf("ecr.%s endpoint = %v", svc, e.Inputs)
		}
		if subs, _ := e.Inputs["subnetIds"].([]any); len(subs) != 2 || !strings.Contains(subs[0].(string), "-private-") {
			t.Errorf("ecr.%s endpoint subnets = %v, want the private ones", svc, subs)
		}
	}
	sg := r.One(t, "aws:ec2/securityGroup:SecurityGroup", "-endpoints")
	ing, _ := sg.Inputs["ingress"].([]any)
	if len(ing) != 1 {
		t.Fatalf("endpoint sg ingress = %v", ing)
	}
	rule := ing[0].(map[string]any)
	if rule["fromPort"] != 443.0 || rule["toPort"] != 443.0 || !reflect.DeepEqual(rule["cidrBlocks"], []any{"10.0.0.0/16"}) {
		t.Errorf("endpoint sg rule = %v, want 443 from the VPC only", rule)
	}

	off := awstest.Run(t, Stack, map[string]any{"enableVpcEndpoints": false})
	if n := len(off.OfType(typeEndpoint)); n != 0 {
		t.Errorf("enableVpcEndpoints=false still creates %d endpoints", n)
	}
}

func TestNetwork_BadInputs(t *testing.T) {
	cases := []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"vpcCidr": "10.0.0.0"}, `"vpcCidr"`},
		{map[string]any{"vpcCidr": "not-a-cidr"}, `"vpcCidr"`},
		{map[string]any{"vpcCidr": "10.0.0.0/8"}, `"vpcCidr"`},
		{map[string]any{"vpcCidr": "10.0.1.0/16"}, `"vpcCidr"`},
		{map[string]any{"availabilityZones": 1.0}, `"availabilityZones"`},
		{map[string]any{"availabilityZones": 4.0}, `"availabilityZones"`},
		{map[string]any{"availabilityZones": 2.5}, `"availabilityZones"`},
		{map[string]any{"highAvailabilityNat": "yes"}, `"highAvailabilityNat"`},
	}
	for _, tc := range cases {
		r := awstest.RunErr(t, Stack, tc.config)
		if !strings.Contains(r.Validation.Error, tc.want) {
			t.Errorf("config %v: error %q does not name %s", tc.config, r.Validation.Error, tc.want)
		}
	}
}

func TestNetwork_Validate(t *testing.T) {
	awstest.AssertValidates(t, Stack)
}
