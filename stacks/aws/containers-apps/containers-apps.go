package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/servicediscovery"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the containers-apps stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "containers-apps",
		Description:  "ECS Fargate cluster, task definitions and services for the application images, an ALB with HTTPS listener, target groups, autoscaling, Cloud Map namespace, DNS records",
		Dependencies: []string{"network", "security", "dns", "containers-images"},
		Inputs: map[string]protocol.Input{
			"services": {Type: protocol.TypeObject, Default: map[string]any{
				"frontend": map[string]any{"cpu": 256.0, "memory": 512.0, "desiredCount": 2.0, "port": 3000.0},
				"backend":  map[string]any{"cpu": 512.0, "memory": 1024.0, "desiredCount": 2.0, "port": 8080.0},
			}, Description: "services by name (each needs an image of that name in repositoryUrls): cpu and memory (a Fargate size), desiredCount, port; optional maxCount (default 4 × desiredCount), path (ALB path pattern, default /<name>/*) and healthCheckPath (default /health)"},
			"defaultService":         {Type: protocol.TypeString, Default: "frontend", Description: "service the load balancer sends every request no path rule matches"},
			"enableAutoScaling":      {Type: protocol.TypeBoolean, Default: true, Description: "scale each service between desiredCount and maxCount on CPU"},
			"cpuTarget":              {Type: protocol.TypeNumber, Default: 70.0, Description: "average CPU utilisation (%) autoscaling keeps"},
			"enableFargateSpot":      {Type: protocol.TypeBoolean, Default: false, Description: "run tasks beyond the first of each service on Fargate Spot"},
			"imageTag":               {Type: protocol.TypeString, Default: "latest", Description: "tag of the images the services run"},
			"deletionProtection":     {Type: protocol.TypeBoolean, Default: true, Description: "protect the load balancer from deletion"},
			"subdomain":              {Type: protocol.TypeString, Default: "app", Description: "DNS name of the application under domainName; empty uses the domain itself"},
			"logRetentionDays":       {Type: protocol.TypeNumber, Default: 30.0, Description: "days the service log groups keep their events"},
			"vpcId":                  {Type: protocol.TypeString, Required: true, Description: "VPC of the target groups and the namespace (network's vpcId)", Example: "vpc-0abc1234def567890"},
			"publicSubnetIds":        {Type: protocol.TypeArray, Required: true, Description: "subnets of the load balancer (network's publicSubnetIds)", Example: []any{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"}},
			"privateSubnetIds":       {Type: protocol.TypeArray, Required: true, Description: "subnets of the tasks (network's privateSubnetIds)", Example: []any{"subnet-0111aaaa2222bbbbc", "subnet-0333cccc4444ddddf"}},
			"albSgId":                {Type: protocol.TypeString, Required: true, Description: "security group of the load balancer (security's albSgId)", Example: "sg-0a1b2c3d4e5f60718"},
			"ecsSgId":                {Type: protocol.TypeString, Required: true, Description: "security group of the tasks (security's ecsSgId)", Example: "sg-0e1c2d3e4f5a60718"},
			"ecsExecutionRoleArn":    {Type: protocol.TypeString, Required: true, Description: "role ECS pulls images and writes logs with (security's ecsExecutionRoleArn)", Example: "arn:aws:iam::123456789012:role/d0sample-security-dev-ecs-execution"},
			"ecsTaskRoleArn":         {Type: protocol.TypeString, Required: true, Description: "role the application runs as (security's ecsTaskRoleArn)", Example: "arn:aws:iam::123456789012:role/d0sample-security-dev-ecs-task"},
			"certificateArn":         {Type: protocol.TypeString, Required: true, Description: "ACM certificate of the domain itself, served by the HTTPS listener (dns's certificateArn)", Example: "arn:aws:acm:us-east-1:123456789012:certificate/abcd1234-ab12-cd34-ef56-abcdef123456"},
			"wildcardCertificateArn": {Type: protocol.TypeString, Required: true, Description: "ACM certificate of *.<domain>, served by the HTTPS listener for <subdomain>.<domain> (dns's wildcardCertificateArn)", Example: "arn:aws:acm:us-east-1:123456789012:certificate/dcba4321-ab12-cd34-ef56-abcdef654321"},
			"hostedZoneId":           {Type: protocol.TypeString, Required: true, Description: "Route53 zone the application's record goes in (dns's hostedZoneId)", Example: "Z0123456789ABCDEFGHIJ"},
			"domainName":             {Type: protocol.TypeString, Required: true, Description: "domain of the zone (dns's domainName)", Example: "example.com"},
			"repositoryUrls": {Type: protocol.TypeObject, Required: true, Description: "image repository URL by service name (containers-images's repositoryUrls)", Example: map[string]any{
				"frontend": "123456789012.dkr.ecr.us-east-1.amazonaws.com/d0sample-containers-images-dev-frontend",
				"backend":  "123456789012.dkr.ecr.us-east-1.amazonaws.com/d0sample-containers-images-dev-backend",
				"worker":   "123456789012.dkr.ecr.us-east-1.amazonaws.com/d0sample-containers-images-dev-worker",
			}},
		},
		Outputs: map[string]protocol.Output{
			"albDnsName":         {Type: protocol.TypeString, Description: "DNS name of the load balancer"},
			"albArn":             {Type: protocol.TypeString, Description: "ARN of the load balancer"},
			"clusterArn":         {Type: protocol.TypeString, Description: "ARN of the ECS cluster"},
			"serviceArns":        {Type: protocol.TypeObject, Description: "ARN of each ECS service, by service name"},
			"privateNamespaceId": {Type: protocol.TypeString, Description: "ID of the Cloud Map private DNS namespace the services register in"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

// tlsPolicy allows TLS 1.3 and 1.2 with forward-secret ciphers only.
const tlsPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

var retentionDays = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true,
	150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true,
	2922: true, 3288: true, 3653: true}

type settings struct {
	vpcID, sg, execRole, taskRole, tag string
	private                            []string
	images                             map[string]string
	autoScaling, spot                  bool
	cpuTarget                          float64
	retention                          int
}

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	svcs, svcErr := parseServices(in.Any("services"))
	defaultSvc := in.String("defaultService")
	protect := in.Bool("deletionProtection")
	subdomain := in.String("subdomain")
	public := in.StringList("publicSubnetIds")
	albSg := in.String("albSgId")
	certArn := in.String("certificateArn")
	wildcardArn := in.String("wildcardCertificateArn")
	zoneID := in.String("hostedZoneId")
	domain := in.String("domainName")
	rawImages := in.Any("repositoryUrls")
	s := settings{
		vpcID: in.String("vpcId"), sg: in.String("ecsSgId"), execRole: in.String("ecsExecutionRoleArn"),
		taskRole: in.String("ecsTaskRoleArn"), tag: in.String("imageTag"), private: in.StringList("privateSubnetIds"),
		autoScaling: in.Bool("enableAutoScaling"), spot: in.Bool("enableFargateSpot"), cpuTarget: in.Number("cpuTarget"),
		retention: in.Int("logRetentionDays"),
	}
	if err := in.Err(); err != nil {
		return err
	}
	if svcErr != nil {
		return svcErr
	}
	images, err := imageURLs(rawImages, svcs)
	if err != nil {
		return err
	}
	s.images = images
	var def *service
	for i := range svcs {
		if svcs[i].name == defaultSvc {
			def = &svcs[i]
		}
	}
	switch {
	case def == nil:
		return fmt.Errorf("input \"defaultService\": %q is not one of the services", defaultSvc)
	case s.cpuTarget <= 0 || s.cpuTarget > 100:
		return fmt.Errorf("input \"cpuTarget\" must be a percentage above 0, got %v", s.cpuTarget)
	case !retentionDays[s.retention]:
		return fmt.Errorf("input \"logRetentionDays\": %d is not a CloudWatch Logs retention period", s.retention)
	case len(public) < 2:
		return fmt.Errorf("input \"publicSubnetIds\": a load balancer needs subnets in at least 2 zones, got %d", len(public))
	case len(s.private) == 0:
		return fmt.Errorf("input \"privateSubnetIds\" lists no subnet")
	case !strings.HasPrefix(certArn, "arn:"):
		return fmt.Errorf("input \"certificateArn\": %q is not an ARN", certArn)
	case !strings.HasPrefix(wildcardArn, "arn:"):
		return fmt.Errorf("input \"wildcardCertificateArn\": %q is not an ARN", wildcardArn)
	case s.tag == "":
		return fmt.Errorf("input \"imageTag\" is empty")
	}

	clusterName := awskit.NameMax(c, "cluster", 255)
	cluster, err := ecs.NewCluster(ctx, clusterName, &ecs.ClusterArgs{
		Name:     pulumi.String(clusterName),
		Settings: ecs.ClusterSettingArray{ecs.ClusterSettingArgs{Name: pulumi.String("containerInsights"), Value: pulumi.String("enabled")}},
		Tags:     awskit.NamedTags(c, clusterName),
	})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	providers := pulumi.StringArray{pulumi.String("FARGATE")}
	if s.spot {
		providers = append(providers, pulumi.String("FARGATE_SPOT"))
	}
	capacity, err := ecs.NewClusterCapacityProviders(ctx, clusterName+"-capacity", &ecs.ClusterCapacityProvidersArgs{
		ClusterName: cluster.Name, CapacityProviders: providers,
	})
	if err != nil {
		return fmt.Errorf("capacity providers: %w", err)
	}

	nsName := awskit.Name(c, "") + ".internal"
	ns, err := servicediscovery.NewPrivateDnsNamespace(ctx, awskit.Name(c, "namespace"), &servicediscovery.PrivateDnsNamespaceArgs{
		Name: pulumi.String(nsName), Vpc: pulumi.String(s.vpcID),
		Description: pulumi.String("service discovery of " + awskit.Name(c, "")), Tags: awskit.NamedTags(c, nsName),
	})
	if err != nil {
		return fmt.Errorf("namespace: %w", err)
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
		Tags:                     awskit.NamedTags(c, albName),
	})
	if err != nil {
		return fmt.Errorf("load balancer: %w", err)
	}

	groups := map[string]*lb.TargetGroup{}
	for _, svc := range svcs {
		tgName := awskit.NameMax(c, svc.name, 32)
		tg, err := lb.NewTargetGroup(ctx, awskit.Name(c, svc.name+"-tg"), &lb.TargetGroupArgs{
			Name: pulumi.String(tgName), Port: pulumi.Int(svc.port), Protocol: pulumi.String("HTTP"),
			TargetType: pulumi.String("ip"), VpcId: pulumi.String(s.vpcID), DeregistrationDelay: pulumi.Int(30),
			HealthCheck: lb.TargetGroupHealthCheckArgs{
				Path: pulumi.String(svc.healthPath), Matcher: pulumi.String("200-399"), Interval: pulumi.Int(15),
				HealthyThreshold: pulumi.Int(2), UnhealthyThreshold: pulumi.Int(3),
			},
			Tags: awskit.NamedTags(c, tgName),
		})
		if err != nil {
			return fmt.Errorf("target group %s: %w", svc.name, err)
		}
		groups[svc.name] = tg
	}

	// The listener serves both certificates by SNI; the default is the one
	// covering the application's own name.
	mainCert, extraCert := wildcardArn, certArn
	if subdomain == "" {
		mainCert, extraCert = certArn, wildcardArn
	}
	https, err := lb.NewListener(ctx, awskit.Name(c, "https"), &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn, Port: pulumi.Int(443), Protocol: pulumi.String("HTTPS"),
		SslPolicy: pulumi.String(tlsPolicy), CertificateArn: pulumi.String(mainCert),
		DefaultActions: lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"), TargetGroupArn: groups[def.name].Arn}},
		Tags:           awskit.NamedTags(c, awskit.Name(c, "https")),
	})
	if err != nil {
		return fmt.Errorf("https listener: %w", err)
	}
	if extraCert != mainCert {
		if _, err := lb.NewListenerCertificate(ctx, awskit.Name(c, "https-extra-cert"), &lb.ListenerCertificateArgs{
			ListenerArn: https.Arn, CertificateArn: pulumi.String(extraCert),
		}); err != nil {
			return fmt.Errorf("extra listener certificate: %w", err)
		}
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
		return fmt.Errorf("http listener: %w", err)
	}
	// A service can only use a target group a listener or rule already
	// routes to.
	after := []pulumi.Resource{https, capacity}
	priority := 0
	for _, svc := range svcs {
		if svc.name == def.name {
			continue
		}
		priority += 10
		rule, err := lb.NewListenerRule(ctx, awskit.Name(c, svc.name+"-rule"), &lb.ListenerRuleArgs{
			ListenerArn: https.Arn, Priority: pulumi.Int(priority),
			Actions: lb.ListenerRuleActionArray{lb.ListenerRuleActionArgs{Type: pulumi.String("forward"), TargetGroupArn: groups[svc.name].Arn}},
			Conditions: lb.ListenerRuleConditionArray{lb.ListenerRuleConditionArgs{
				PathPattern: lb.ListenerRuleConditionPathPatternArgs{Values: pulumi.StringArray{pulumi.String(svc.path)}},
			}},
			Tags: awskit.NamedTags(c, awskit.Name(c, svc.name+"-rule")),
		})
		if err != nil {
			return fmt.Errorf("listener rule %s: %w", svc.name, err)
		}
		after = append(after, rule)
	}

	arns := pulumi.StringMap{}
	for _, svc := range svcs {
		arn, err := runService(ctx, c, s, svc, clusterName, cluster, groups[svc.name], ns, after)
		if err != nil {
			return err
		}
		arns[svc.name] = arn
	}

	record := domain
	if subdomain != "" {
		record = subdomain + "." + domain
	}
	if _, err := route53.NewRecord(ctx, awskit.Name(c, "dns"), &route53.RecordArgs{
		ZoneId: pulumi.String(zoneID), Name: pulumi.String(record), Type: pulumi.String("A"),
		Aliases: route53.RecordAliasArray{route53.RecordAliasArgs{
			Name: alb.DnsName, ZoneId: alb.ZoneId, EvaluateTargetHealth: pulumi.Bool(true),
		}},
	}); err != nil {
		return fmt.Errorf("dns record: %w", err)
	}

	out.Export("albDnsName", alb.DnsName)
	out.Export("albArn", alb.Arn)
	out.Export("clusterArn", cluster.Arn)
	out.Export("serviceArns", arns)
	out.Export("privateNamespaceId", ns.ID())
	return nil
}

// imageURLs picks each service's repository from the repositoryUrls input.
func imageURLs(v any, svcs []service) (map[string]string, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("input \"repositoryUrls\": want an object of repository URLs by image name, got %T", v)
	}
	out := map[string]string{}
	for _, svc := range svcs {
		u, ok := m[svc.name].(string)
		if !ok || u == "" {
			return nil, fmt.Errorf("input \"repositoryUrls.%s\": service %q has no image repository", svc.name, svc.name)
		}
		out[svc.name] = u
	}
	return out, nil
}

// runService creates a service's logs, task definition, discovery entry,
// ECS service and scaling, and returns the service's ARN.
func runService(ctx *pulumi.Context, c protocol.Context, s settings, svc service, clusterName string, cluster *ecs.Cluster,
	tg *lb.TargetGroup, ns *servicediscovery.PrivateDnsNamespace, after []pulumi.Resource) (pulumi.StringOutput, error) {
	fail := func(what string, err error) (pulumi.StringOutput, error) {
		return pulumi.StringOutput{}, fmt.Errorf("service %s: %s: %w", svc.name, what, err)
	}
	logName := "/cloud/" + awskit.Name(c, svc.name)
	if _, err := cloudwatch.NewLogGroup(ctx, awskit.Name(c, svc.name+"-logs"), &cloudwatch.LogGroupArgs{
		Name: pulumi.String(logName), RetentionInDays: pulumi.Int(s.retention), Tags: awskit.NamedTags(c, logName),
	}); err != nil {
		return fail("log group", err)
	}
	containers, err := json.Marshal([]any{map[string]any{
		"name":         svc.name,
		"image":        s.images[svc.name] + ":" + s.tag,
		"essential":    true,
		"cpu":          svc.cpu,
		"memory":       svc.memory,
		"portMappings": []any{map[string]any{"containerPort": svc.port, "protocol": "tcp"}},
		"environment":  []any{map[string]any{"name": "PORT", "value": fmt.Sprint(svc.port)}},
		"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]any{
			"awslogs-group": logName, "awslogs-region": c.Region, "awslogs-stream-prefix": svc.name,
		}},
		"linuxParameters": map[string]any{"initProcessEnabled": true},
	}})
	if err != nil {
		return fail("container definitions", err)
	}
	family := awskit.NameMax(c, svc.name, 255)
	td, err := ecs.NewTaskDefinition(ctx, family+"-task", &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(family),
		Cpu:                     pulumi.String(fmt.Sprint(svc.cpu)),
		Memory:                  pulumi.String(fmt.Sprint(svc.memory)),
		NetworkMode:             pulumi.String("awsvpc"),
		RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
		ExecutionRoleArn:        pulumi.String(s.execRole),
		TaskRoleArn:             pulumi.String(s.taskRole),
		ContainerDefinitions:    pulumi.String(string(containers)),
		RuntimePlatform:         ecs.TaskDefinitionRuntimePlatformArgs{OperatingSystemFamily: pulumi.String("LINUX"), CpuArchitecture: pulumi.String("X86_64")},
		Tags:                    awskit.NamedTags(c, family),
	})
	if err != nil {
		return fail("task definition", err)
	}
	disc, err := servicediscovery.NewService(ctx, awskit.Name(c, svc.name+"-discovery"), &servicediscovery.ServiceArgs{
		Name: pulumi.String(svc.name),
		DnsConfig: servicediscovery.ServiceDnsConfigArgs{
			NamespaceId:   ns.ID(),
			RoutingPolicy: pulumi.String("MULTIVALUE"),
			DnsRecords:    servicediscovery.ServiceDnsConfigDnsRecordArray{servicediscovery.ServiceDnsConfigDnsRecordArgs{Ttl: pulumi.Int(10), Type: pulumi.String("A")}},
		},
		HealthCheckCustomConfig: servicediscovery.ServiceHealthCheckCustomConfigArgs{FailureThreshold: pulumi.Int(1)},
		Tags:                    awskit.NamedTags(c, awskit.Name(c, svc.name+"-discovery")),
	})
	if err != nil {
		return fail("discovery", err)
	}
	strategy := ecs.ServiceCapacityProviderStrategyArray{ecs.ServiceCapacityProviderStrategyArgs{
		CapacityProvider: pulumi.String("FARGATE"), Base: pulumi.Int(1), Weight: pulumi.Int(1),
	}}
	if s.spot {
		strategy = append(strategy, ecs.ServiceCapacityProviderStrategyArgs{CapacityProvider: pulumi.String("FARGATE_SPOT"), Weight: pulumi.Int(1)})
	}
	name := awskit.NameMax(c, svc.name, 255)
	opts := []pulumi.ResourceOption{pulumi.DependsOn(after)}
	if s.autoScaling {
		// Autoscaling owns the running count once the service exists.
		opts = append(opts, pulumi.IgnoreChanges([]string{"desiredCount"}))
	}
	es, err := ecs.NewService(ctx, name+"-service", &ecs.ServiceArgs{
		Name:                       pulumi.String(name),
		Cluster:                    cluster.Arn,
		TaskDefinition:             td.Arn,
		DesiredCount:               pulumi.Int(svc.desired),
		CapacityProviderStrategies: strategy,
		NetworkConfiguration: ecs.ServiceNetworkConfigurationArgs{
			Subnets: pulumi.ToStringArray(s.private), SecurityGroups: pulumi.StringArray{pulumi.String(s.sg)}, AssignPublicIp: pulumi.Bool(false),
		},
		LoadBalancers: ecs.ServiceLoadBalancerArray{ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: tg.Arn, ContainerName: pulumi.String(svc.name), ContainerPort: pulumi.Int(svc.port),
		}},
		ServiceRegistries:               ecs.ServiceServiceRegistriesArgs{RegistryArn: disc.Arn},
		DeploymentCircuitBreaker:        ecs.ServiceDeploymentCircuitBreakerArgs{Enable: pulumi.Bool(true), Rollback: pulumi.Bool(true)},
		DeploymentMinimumHealthyPercent: pulumi.Int(100),
		DeploymentMaximumPercent:        pulumi.Int(200),
		HealthCheckGracePeriodSeconds:   pulumi.Int(60),
		PropagateTags:                   pulumi.String("SERVICE"),
		EnableEcsManagedTags:            pulumi.Bool(true),
		Tags:                            awskit.NamedTags(c, name),
	}, opts...)
	if err != nil {
		return fail("ecs service", err)
	}
	if s.autoScaling {
		resourceID := fmt.Sprintf("service/%s/%s", clusterName, name)
		target, err := appautoscaling.NewTarget(ctx, awskit.Name(c, svc.name+"-scaling"), &appautoscaling.TargetArgs{
			ServiceNamespace: pulumi.String("ecs"), ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
			ResourceId: pulumi.String(resourceID), MinCapacity: pulumi.Int(svc.desired), MaxCapacity: pulumi.Int(svc.maxCount),
			Tags: awskit.Tags(c, nil),
		}, pulumi.DependsOn([]pulumi.Resource{es}))
		if err != nil {
			return fail("scaling target", err)
		}
		if _, err := appautoscaling.NewPolicy(ctx, awskit.Name(c, svc.name+"-cpu"), &appautoscaling.PolicyArgs{
			Name: pulumi.String(awskit.NameMax(c, svc.name+"-cpu", 255)), PolicyType: pulumi.String("TargetTrackingScaling"),
			ServiceNamespace: target.ServiceNamespace, ScalableDimension: target.ScalableDimension, ResourceId: target.ResourceId,
			TargetTrackingScalingPolicyConfiguration: appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
				TargetValue: pulumi.Float64(s.cpuTarget), ScaleInCooldown: pulumi.Int(300), ScaleOutCooldown: pulumi.Int(60),
				PredefinedMetricSpecification: appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
					PredefinedMetricType: pulumi.String("ECSServiceAverageCPUUtilization"),
				},
			},
		}); err != nil {
			return fail("scaling policy", err)
		}
	}
	// The ID of an ECS service is its ARN.
	return es.ID().ToStringOutput(), nil
}
