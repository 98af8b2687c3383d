package main

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"regexp"
	"sort"
	"strings"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the monitoring stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "monitoring",
		Description:  "SNS alert topic with email subscription, CloudWatch dashboard, alarms on the ALB, ECS and RDS, log metric filters",
		Dependencies: []string{"network", "security", "database-rds", "containers-apps"},
		Inputs: map[string]protocol.Input{
			"alertEmail":             {Type: protocol.TypeString, Required: true, Description: "address the alerts are mailed to (it must confirm the subscription)", Example: "ops@example.com"},
			"cpuThreshold":           {Type: protocol.TypeNumber, Default: 80.0, Description: "CPU utilisation (%) of the ECS cluster, services and database that raises an alarm"},
			"memoryThreshold":        {Type: protocol.TypeNumber, Default: 80.0, Description: "memory utilisation (%) of the ECS cluster that raises an alarm"},
			"alb5xxThreshold":        {Type: protocol.TypeNumber, Default: 10.0, Description: "5xx responses in 5 minutes (from the load balancer or the targets) that raise an alarm"},
			"albLatencyThreshold":    {Type: protocol.TypeNumber, Default: 2.0, Description: "p95 target response time in seconds that raises an alarm"},
			"dbFreeStorageThreshold": {Type: protocol.TypeNumber, Default: 5.0, Description: "free database storage in GiB below which an alarm is raised"},
			"dbConnectionsThreshold": {Type: protocol.TypeNumber, Default: 200.0, Description: "database connections that raise an alarm"},
			"applicationLogGroups":   {Type: protocol.TypeArray, Default: []any{}, Description: "log groups whose error lines are counted and alarmed on (e.g. the services' /cloud/… groups)"},
			"errorPattern":           {Type: protocol.TypeString, Default: "?ERROR ?FATAL ?Exception", Description: "CloudWatch Logs filter pattern of an error line"},
			"errorThreshold":         {Type: protocol.TypeNumber, Default: 10.0, Description: "error lines in 5 minutes in one log group that raise an alarm"},
			"albArn":                 {Type: protocol.TypeString, Required: true, Description: "load balancer to watch (containers-apps's albArn)", Example: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/d0sample-containers-apps-dev-alb/50dc6c495c0c9188"},
			"clusterArn":             {Type: protocol.TypeString, Required: true, Description: "ECS cluster to watch (containers-apps's clusterArn)", Example: "arn:aws:ecs:us-east-1:123456789012:cluster/d0sample-containers-apps-dev-cluster"},
			"serviceArns": {Type: protocol.TypeObject, Required: true, Description: "ECS services to watch one by one, ARN by name (containers-apps's serviceArns)", Example: map[string]any{
				"frontend": "arn:aws:ecs:us-east-1:123456789012:service/d0sample-containers-apps-dev-cluster/d0sample-containers-apps-dev-frontend",
				"backend":  "arn:aws:ecs:us-east-1:123456789012:service/d0sample-containers-apps-dev-cluster/d0sample-containers-apps-dev-backend",
			}},
			"endpoint": {Type: protocol.TypeString, Required: true, Description: "database endpoint, host[:port]; its first label is the instance identifier (database-rds's endpoint)", Example: "d0sample-database-rds-dev-postgres.abcdefghijkl.us-east-1.rds.amazonaws.com:5432"},
		},
		Outputs: map[string]protocol.Output{
			"alertsTopicArn": {Type: protocol.TypeString, Description: "ARN of the SNS topic alarms notify"},
			"dashboardName":  {Type: protocol.TypeString, Description: "name of the CloudWatch dashboard"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

var metricPattern = regexp.MustCompile(`[^A-Za-z0-9-]+`)

// alarm is one CloudWatch alarm on a single metric.
type alarm struct {
	purpose, namespace, metric, statistic, extended, comparison, description string
	dimensions                                                               map[string]string
	threshold                                                                float64
	period, periods                                                          int
}

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	email := in.String("alertEmail")
	cpu := in.Number("cpuThreshold")
	mem := in.Number("memoryThreshold")
	errors5xx := in.Number("alb5xxThreshold")
	latency := in.Number("albLatencyThreshold")
	freeGiB := in.Number("dbFreeStorageThreshold")
	conns := in.Number("dbConnectionsThreshold")
	logGroups := in.StringList("applicationLogGroups")
	pattern := in.String("errorPattern")
	errThreshold := in.Number("errorThreshold")
	albArn := in.String("albArn")
	clusterArn := in.String("clusterArn")
	rawServices := in.Any("serviceArns")
	endpoint := in.String("endpoint")
	if err := in.Err(); err != nil {
		return err
	}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		return fmt.Errorf("input \"alertEmail\": %q is not an email address", email)
	}
	for name, v := range map[string]float64{"cpuThreshold": cpu, "memoryThreshold": mem} {
		if v <= 0 || v > 100 {
			return fmt.Errorf("input %q must be a percentage above 0, got %v", name, v)
		}
	}
	for name, v := range map[string]float64{"alb5xxThreshold": errors5xx, "albLatencyThreshold": latency, "dbFreeStorageThreshold": freeGiB,
		"dbConnectionsThreshold": conns, "errorThreshold": errThreshold} {
		if v <= 0 {
			return fmt.Errorf("input %q must be above 0, got %v", name, v)
		}
	}
	if pattern == "" {
		return fmt.Errorf("input \"errorPattern\" is empty")
	}
	lbDim, err := albDimension(albArn)
	if err != nil {
		return err
	}
	cluster, err := afterSlash(clusterArn, ":cluster/", "clusterArn")
	if err != nil {
		return err
	}
	services, err := serviceNames(rawServices)
	if err != nil {
		return err
	}
	db, _, _ := strings.Cut(endpoint, ":")
	db, _, _ = strings.Cut(db, ".")
	if db == "" || !strings.Contains(endpoint, ".") {
		return fmt.Errorf("input \"endpoint\": %q is not a database host name", endpoint)
	}
	account := c.AccountID
	if account == "" {
		id, err := aws.GetCallerIdentity(ctx, nil)
		if err != nil {
			return fmt.Errorf("caller identity: %w", err)
		}
		account = id.AccountId
	}

	topic, err := alertTopic(ctx, c, account, email)
	if err != nil {
		return err
	}

	alarms := []alarm{
		{purpose: "alb-5xx", namespace: "AWS/ApplicationELB", metric: "HTTPCode_ELB_5XX_Count", statistic: "Sum", comparison: "GreaterThanThreshold",
			dimensions: map[string]string{"LoadBalancer": lbDim}, threshold: errors5xx, period: 300, periods: 1,
			description: "the load balancer answers with 5xx errors"},
		{purpose: "alb-target-5xx", namespace: "AWS/ApplicationELB", metric: "HTTPCode_Target_5XX_Count", statistic: "Sum", comparison: "GreaterThanThreshold",
			dimensions: map[string]string{"LoadBalancer": lbDim}, threshold: errors5xx, period: 300, periods: 1,
			description: "the services answer with 5xx errors"},
		{purpose: "alb-latency", namespace: "AWS/ApplicationELB", metric: "TargetResponseTime", extended: "p95", comparison: "GreaterThanThreshold",
			dimensions: map[string]string{"LoadBalancer": lbDim}, threshold: latency, period: 60, periods: 5,
			description: "p95 response time of the services is high"},
		{purpose: "ecs-cpu", namespace: "AWS/ECS", metric: "CPUUtilization", statistic: "Average", comparison: "GreaterThanThreshold",
			dimensions: map[string]string{"ClusterName": cluster}, threshold: cpu, period: 60, periods: 5,
			description: "CPU of the ECS cluster is high"},
		{purpose: "ecs-memory", namespace: "AWS/ECS", metric: "MemoryUtilization", statistic: "Average", comparison: "GreaterThanThreshold",
			dimensions: map[string]string{"ClusterName": cluster}, threshold: mem, period: 60, periods: 5,
			description: "memory of the ECS cluster is high"},
		{purpose: "rds-cpu", namespace: "AWS/RDS", metric: "CPUUtilization", statistic: "Average", comparison: "GreaterThanThreshold",
			dimensions: map[string]string{"DBInstanceIdentifier": db}, threshold: cpu, period: 60, periods: 5,
			description: "CPU of the database is high"},
		{purpose: "rds-storage", namespace: "AWS/RDS", metric: "FreeStorageSpace", statistic: "Minimum", comparison: "LessThanThreshold",
			dimensions: map[string]string{"DBInstanceIdentifier": db}, threshold: freeGiB * 1024 * 1024 * 1024, period: 300, periods: 1,
			description: "the database is running out of storage"},
		{purpose: "rds-connections", namespace: "AWS/RDS", metric: "DatabaseConnections", statistic: "Maximum", comparison: "GreaterThanThreshold",
			dimensions: map[string]string{"DBInstanceIdentifier": db}, threshold: conns, period: 60, periods: 5,
			description: "the database has many connections"},
	}
	for _, svc := range services {
		alarms = append(alarms, alarm{purpose: "ecs-" + svc.name + "-cpu", namespace: "AWS/ECS", metric: "CPUUtilization", statistic: "Average",
			comparison: "GreaterThanThreshold", dimensions: map[string]string{"ClusterName": cluster, "ServiceName": svc.service},
			threshold: cpu, period: 60, periods: 5, description: "CPU of service " + svc.name + " is high"})
	}
	namespace := "Cloud/" + awskit.Name(c, "")
	for i, lg := range logGroups {
		if lg == "" {
			return fmt.Errorf("input \"applicationLogGroups[%d]\" is empty", i)
		}
		metric := strings.Trim(metricPattern.ReplaceAllString(strings.TrimPrefix(lg, "/"), "-"), "-") + "-errors"
		if _, err := cloudwatch.NewLogMetricFilter(ctx, awskit.Name(c, fmt.Sprintf("errors-%d", i)), &cloudwatch.LogMetricFilterArgs{
			Name: pulumi.String(awskit.NameMax(c, fmt.Sprintf("errors-%d", i), 512)), LogGroupName: pulumi.String(lg), Pattern: pulumi.String(pattern),
			MetricTransformation: cloudwatch.LogMetricFilterMetricTransformationArgs{
				Name: pulumi.String(metric), Namespace: pulumi.String(namespace), Value: pulumi.String("1"), DefaultValue: pulumi.String("0"),
			},
		}); err != nil {
			return fmt.Errorf("log metric filter %s: %w", lg, err)
		}
		alarms = append(alarms, alarm{purpose: fmt.Sprintf("errors-%d", i), namespace: namespace, metric: metric, statistic: "Sum",
			comparison: "GreaterThanThreshold", threshold: errThreshold, period: 300, periods: 1, description: "errors logged in " + lg})
	}
	for _, a := range alarms {
		if err := newAlarm(ctx, c, a, topic.Arn); err != nil {
			return err
		}
	}

	body, err := dashboard(c.Region, lbDim, cluster, db)
	if err != nil {
		return err
	}
	dashName := awskit.NameMax(c, "overview", 255)
	dash, err := cloudwatch.NewDashboard(ctx, dashName, &cloudwatch.DashboardArgs{DashboardName: pulumi.String(dashName), DashboardBody: pulumi.String(body)})
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}

	out.Export("alertsTopicArn", topic.Arn)
	out.Export("dashboardName", dash.DashboardName)
	return nil
}

// alertTopic is the encrypted topic alarms publish to. It has a key of its
// own: CloudWatch can only publish to a topic whose key policy lets it use
// the key, which AWS managed keys never do.
func alertTopic(ctx *pulumi.Context, c protocol.Context, account, email string) (*sns.Topic, error) {
	keyPolicy, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{"Sid": "Account", "Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + account + ":root"},
			"Action": "kms:*", "Resource": "*"},
		map[string]any{"Sid": "CloudWatchAlarms", "Effect": "Allow", "Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
			"Action": []string{"kms:Decrypt", "kms:GenerateDataKey*"}, "Resource": "*",
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}}},
	}})
	keyName := awskit.Name(c, "alerts-key")
	key, err := kms.NewKey(ctx, keyName, &kms.KeyArgs{
		Description: pulumi.String("encrypts the alert topic of " + awskit.Name(c, "")), EnableKeyRotation: pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30), Policy: pulumi.String(string(keyPolicy)), Tags: awskit.NamedTags(c, keyName),
	})
	if err != nil {
		return nil, fmt.Errorf("alert key: %w", err)
	}
	name := awskit.NameMax(c, "alerts", 256)
	topic, err := sns.NewTopic(ctx, name, &sns.TopicArgs{Name: pulumi.String(name), KmsMasterKeyId: key.Arn, Tags: awskit.NamedTags(c, name)})
	if err != nil {
		return nil, fmt.Errorf("alert topic: %w", err)
	}
	policy := topic.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{
			map[string]any{"Sid": "CloudWatchAlarms", "Effect": "Allow", "Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
				"Action": "sns:Publish", "Resource": arn,
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}}},
		}})
		return string(b), err
	}).(pulumi.StringOutput)
	if _, err := sns.NewTopicPolicy(ctx, name+"-policy", &sns.TopicPolicyArgs{Arn: topic.Arn, Policy: policy}); err != nil {
		return nil, fmt.Errorf("alert topic policy: %w", err)
	}
	if _, err := sns.NewTopicSubscription(ctx, name+"-email", &sns.TopicSubscriptionArgs{
		Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(email),
	}); err != nil {
		return nil, fmt.Errorf("alert subscription: %w", err)
	}
	return topic, nil
}

func newAlarm(ctx *pulumi.Context, c protocol.Context, a alarm, topic pulumi.StringOutput) error {
	name := awskit.NameMax(c, a.purpose, 255)
	dims := pulumi.StringMap{}
	for k, v := range a.dimensions {
		dims[k] = pulumi.String(v)
	}
	args := &cloudwatch.MetricAlarmArgs{
		Name:               pulumi.String(name),
		AlarmDescription:   pulumi.String(a.description),
		Namespace:          pulumi.String(a.namespace),
		MetricName:         pulumi.String(a.metric),
		ComparisonOperator: pulumi.String(a.comparison),
		Threshold:          pulumi.Float64(a.threshold),
		Period:             pulumi.Int(a.period),
		EvaluationPeriods:  pulumi.Int(a.periods),
		TreatMissingData:   pulumi.String("notBreaching"),
		AlarmActions:       pulumi.Array{topic},
		OkActions:          pulumi.Array{topic},
		Tags:               awskit.NamedTags(c, name),
	}
	if len(dims) > 0 {
		args.Dimensions = dims
	}
	if a.extended != "" {
		args.ExtendedStatistic = pulumi.String(a.extended)
	} else {
		args.Statistic = pulumi.String(a.statistic)
	}
	if _, err := cloudwatch.NewMetricAlarm(ctx, name, args); err != nil {
		return fmt.Errorf("alarm %s: %w", a.purpose, err)
	}
	return nil
}

// albDimension is the LoadBalancer dimension of an ALB's metrics,
// app/<name>/<id>, the end of its ARN.
func albDimension(arn string) (string, error) {
	_, dim, ok := strings.Cut(arn, ":loadbalancer/")
	if !ok || !strings.HasPrefix(arn, "arn:") || !strings.HasPrefix(dim, "app/") || strings.Count(dim, "/") != 2 {
		return "", fmt.Errorf("input \"albArn\": %q is not the ARN of an application load balancer", arn)
	}
	return dim, nil
}

func afterSlash(arn, marker, input string) (string, error) {
	_, rest, ok := strings.Cut(arn, marker)
	if !ok || !strings.HasPrefix(arn, "arn:") || rest == "" {
		return "", fmt.Errorf("input %q: %q is not an ARN with %s", input, arn, strings.Trim(marker, ":/"))
	}
	return rest[strings.LastIndex(rest, "/")+1:], nil
}

type ecsService struct{ name, service string }

// serviceNames reads the serviceArns input: ECS service names by the
// application's service names, sorted.
func serviceNames(v any) ([]ecsService, error) {
	m, ok := v.(map[string]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("input \"serviceArns\": want an object of service ARNs by name, got %T", v)
	}
	var out []ecsService
	for name, arn := range m {
		s, _ := arn.(string)
		svc, err := afterSlash(s, ":service/", "serviceArns."+name)
		if err != nil {
			return nil, err
		}
		out = append(out, ecsService{name: name, service: svc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// dashboard lays out the load balancer, cluster and database metrics.
func dashboard(region, lbDim, cluster, db string) (string, error) {
	widget := func(x, y int, title string, metrics [][]any) map[string]any {
		return map[string]any{"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": map[string]any{
			"title": title, "region": region, "view": "timeSeries", "stat": "Average", "period": 60, "metrics": metrics,
		}}
	}
	body := map[string]any{"widgets": []any{
		widget(0, 0, "Load balancer requests and errors", [][]any{
			{"AWS/ApplicationELB", "RequestCount", "LoadBalancer", lbDim, map[string]any{"stat": "Sum"}},
			{"AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", lbDim, map[string]any{"stat": "Sum"}},
			{"AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", lbDim, map[string]any{"stat": "Sum"}},
		}),
		widget(12, 0, "Target response time (p95)", [][]any{
			{"AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", lbDim, map[string]any{"stat": "p95"}},
		}),
		widget(0, 6, "ECS cluster", [][]any{
			{"AWS/ECS", "CPUUtilization", "ClusterName", cluster},
			{"AWS/ECS", "MemoryUtilization", "ClusterName", cluster},
		}),
		widget(12, 6, "Database", [][]any{
			{"AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", db},
			{"AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", db, map[string]any{"yAxis": "right"}},
		}),
	}}
	b, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("dashboard: %w", err)
	}
	return string(b), nil
}
