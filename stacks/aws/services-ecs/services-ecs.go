package main

import (
	"fmt"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the services-ecs stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "services-ecs",
		Description:  "an ECS cluster with Fargate and Fargate Spot capacity providers and container insights",
		Dependencies: []string{"network", "security", "services-ecr"},
		Inputs: map[string]protocol.Input{
			"enableFargateSpot": {Type: protocol.TypeBoolean, Default: true, Description: "add the Fargate Spot capacity provider to the default strategy"},
			"fargateBase":       {Type: protocol.TypeNumber, Default: 1.0, Description: "tasks of each service that always run on on-demand Fargate before the weights apply"},
			"fargateWeight":     {Type: protocol.TypeNumber, Default: 1.0, Description: "relative share of tasks beyond the base placed on on-demand Fargate"},
			"fargateSpotWeight": {Type: protocol.TypeNumber, Default: 3.0, Description: "relative share of tasks beyond the base placed on Fargate Spot"},
			"containerInsights": {Type: protocol.TypeString, Default: "enabled", Description: "CloudWatch Container Insights: enabled, enhanced or disabled"},
			"logRetentionDays":  {Type: protocol.TypeNumber, Default: 30.0, Description: "days the ECS Exec session log group keeps its events"},
			"applicationKeyArn": {Type: protocol.TypeString, Required: true, Description: "KMS key ECS Exec sessions are encrypted with (security's applicationKeyArn)", Example: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		},
		Outputs: map[string]protocol.Output{
			"clusterArn":        {Type: protocol.TypeString, Description: "ARN of the ECS cluster"},
			"clusterName":       {Type: protocol.TypeString, Description: "name of the ECS cluster"},
			"capacityProviders": {Type: protocol.TypeArray, Description: "capacity providers of the cluster (FARGATE, FARGATE_SPOT)"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

// CloudWatch Logs accepts only these retention periods.
var retentionDays = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true,
	150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true,
	2922: true, 3288: true, 3653: true}

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	spot := in.Bool("enableFargateSpot")
	base := in.Int("fargateBase")
	weight := in.Int("fargateWeight")
	spotWeight := in.Int("fargateSpotWeight")
	insights := in.String("containerInsights")
	retention := in.Int("logRetentionDays")
	keyArn := in.String("applicationKeyArn")
	if err := in.Err(); err != nil {
		return err
	}
	switch {
	case base < 0 || base > 100000:
		return fmt.Errorf("input \"fargateBase\" must be between 0 and 100000, got %v", in.Number("fargateBase"))
	case weight < 0 || weight > 1000:
		return fmt.Errorf("input \"fargateWeight\" must be between 0 and 1000, got %v", in.Number("fargateWeight"))
	case spot && (spotWeight < 0 || spotWeight > 1000):
		return fmt.Errorf("input \"fargateSpotWeight\" must be between 0 and 1000, got %v", in.Number("fargateSpotWeight"))
	case !spot && weight == 0, spot && weight == 0 && spotWeight == 0:
		return fmt.Errorf("input \"fargateWeight\": at least one capacity provider needs a weight above 0")
	case insights != "enabled" && insights != "enhanced" && insights != "disabled":
		return fmt.Errorf("input \"containerInsights\" must be enabled, enhanced or disabled, got %q", insights)
	case !retentionDays[retention]:
		return fmt.Errorf("input \"logRetentionDays\": %d is not a CloudWatch Logs retention period (1, 3, 5, 7, 14, 30, 60, 90, … 3653)", retention)
	}

	// CloudWatch Logs encrypts every log group at rest; the session content
	// itself is encrypted end to end with the application key below.
	logName := "/cloud/" + awskit.Name(c, "exec")
	logs, err := cloudwatch.NewLogGroup(ctx, awskit.Name(c, "exec-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(logName),
		RetentionInDays: pulumi.Int(retention),
		Tags:            awskit.NamedTags(c, logName),
	})
	if err != nil {
		return fmt.Errorf("exec log group: %w", err)
	}

	name := awskit.NameMax(c, "cluster", 255)
	cluster, err := ecs.NewCluster(ctx, name, &ecs.ClusterArgs{
		Name:     pulumi.String(name),
		Settings: ecs.ClusterSettingArray{ecs.ClusterSettingArgs{Name: pulumi.String("containerInsights"), Value: pulumi.String(insights)}},
		Configuration: ecs.ClusterConfigurationArgs{
			ExecuteCommandConfiguration: ecs.ClusterConfigurationExecuteCommandConfigurationArgs{
				KmsKeyId: pulumi.String(keyArn),
				Logging:  pulumi.String("OVERRIDE"),
				LogConfiguration: ecs.ClusterConfigurationExecuteCommandConfigurationLogConfigurationArgs{
					CloudWatchLogGroupName: logs.Name,
				},
			},
		},
		Tags: awskit.NamedTags(c, name),
	})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}

	providers := []string{"FARGATE"}
	strategy := ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArray{
		ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs{
			CapacityProvider: pulumi.String("FARGATE"), Base: pulumi.Int(base), Weight: pulumi.Int(weight),
		},
	}
	if spot {
		providers = append(providers, "FARGATE_SPOT")
		// Only one provider of a strategy may have a base: the base stays
		// on on-demand Fargate, so a spot interruption never takes a
		// service below it.
		strategy = append(strategy, ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs{
			CapacityProvider: pulumi.String("FARGATE_SPOT"), Weight: pulumi.Int(spotWeight),
		})
	}
	if _, err := ecs.NewClusterCapacityProviders(ctx, name+"-capacity", &ecs.ClusterCapacityProvidersArgs{
		ClusterName:                       cluster.Name,
		CapacityProviders:                 pulumi.ToStringArray(providers),
		DefaultCapacityProviderStrategies: strategy,
	}); err != nil {
		return fmt.Errorf("capacity providers: %w", err)
	}

	out.Export("clusterArn", cluster.Arn)
	out.Export("clusterName", cluster.Name)
	out.Export("capacityProviders", pulumi.ToStringArray(providers))
	return nil
}
