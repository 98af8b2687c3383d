package main

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the compute-lambda stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "compute-lambda",
		Description:  "Lambda functions in the VPC, an SQS queue with dead-letter queue, an SNS topic, a scheduled EventBridge rule",
		Dependencies: []string{"network", "security", "storage", "database-rds"},
		Inputs: map[string]protocol.Input{
			"functions": {Type: protocol.TypeObject, Default: map[string]any{
				"api":    map[string]any{"handler": "index.handler", "runtime": "nodejs20.x", "memory": 256.0, "timeout": 30.0},
				"worker": map[string]any{"handler": "index.handler", "runtime": "nodejs20.x", "memory": 512.0, "timeout": 120.0},
			}, Description: "functions by name: handler, runtime, memory (MB, 128–10240) and optional timeout (seconds, 1–900, default 30); the code is s3://<artifactsBucketName>/<codePrefix><name>.zip"},
			"scheduleExpression":   {Type: protocol.TypeString, Default: "rate(1 hour)", Description: "EventBridge schedule (rate(…) or cron(…)) that invokes scheduledFunction"},
			"scheduledFunction":    {Type: protocol.TypeString, Default: "worker", Description: "function the schedule invokes"},
			"queueFunction":        {Type: protocol.TypeString, Default: "worker", Description: "function that consumes the work queue"},
			"codePrefix":           {Type: protocol.TypeString, Default: "lambda/", Description: "key prefix of the function packages in the artifacts bucket"},
			"logRetentionDays":     {Type: protocol.TypeNumber, Default: 30.0, Description: "days the function log groups keep their events"},
			"privateSubnetIds":     {Type: protocol.TypeArray, Required: true, Description: "private subnets the functions run in (network's privateSubnetIds)", Example: []any{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"}},
			"lambdaSgId":           {Type: protocol.TypeString, Required: true, Description: "security group of the functions (security's lambdaSgId)", Example: "sg-0123456789abcdef0"},
			"lambdaRoleArn":        {Type: protocol.TypeString, Required: true, Description: "execution role of the functions, with VPC access (security's lambdaRoleArn); this stack adds an inline policy for its queues, topic and logs", Example: "arn:aws:iam::123456789012:role/d0sample-security-dev-lambda"},
			"applicationKeyArn":    {Type: protocol.TypeString, Required: true, Description: "KMS key of the queues, topic and function environment (security's applicationKeyArn)", Example: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
			"artifactsBucketName":  {Type: protocol.TypeString, Required: true, Description: "bucket holding the function packages (storage's artifactsBucketName)", Example: "d0sample-storage-dev-artifacts"},
			"endpoint":             {Type: protocol.TypeString, Required: true, Description: "database endpoint, host or host:port, given to the functions as DB_HOST (database-rds's endpoint)", Example: "d0sample-database-rds-dev-postgres.abcdefghijkl.us-east-1.rds.amazonaws.com:5432"},
			"port":                 {Type: protocol.TypeNumber, Required: true, Description: "database port, given to the functions as DB_PORT (database-rds's port)", Example: 5432.0},
			"queueMaxReceiveCount": {Type: protocol.TypeNumber, Default: 5.0, Description: "deliveries of a message before it moves to the dead-letter queue"},
		},
		Outputs: map[string]protocol.Output{
			"functionArns": {Type: protocol.TypeObject, Description: "ARN of each function, by name"},
			"queueUrl":     {Type: protocol.TypeString, Description: "URL of the work queue"},
			"topicArn":     {Type: protocol.TypeString, Description: "ARN of the SNS topic"},
		},
	},
	Mocks:   awskit.Mocks{},
	Program: program,
}

var (
	namePattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	runtimes    = map[string]bool{"nodejs18.x": true, "nodejs20.x": true, "nodejs22.x": true, "python3.9": true, "python3.10": true,
		"python3.11": true, "python3.12": true, "python3.13": true, "java11": true, "java17": true, "java21": true, "dotnet8": true,
		"ruby3.3": true, "provided.al2": true, "provided.al2023": true}
	schedulePattern = regexp.MustCompile(`^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$`)
	retentionDays   = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true,
		150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true,
		2922: true, 3288: true, 3653: true}
)

// function is one entry of the functions input.
type function struct {
	name, handler, runtime string
	memory, timeout        int
}

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	fns, fnErr := parseFunctions(in.Any("functions"))
	schedule := in.String("scheduleExpression")
	scheduled := in.String("scheduledFunction")
	consumer := in.String("queueFunction")
	prefix := in.String("codePrefix")
	retention := in.Int("logRetentionDays")
	subnets := in.StringList("privateSubnetIds")
	sg := in.String("lambdaSgId")
	roleArn := in.String("lambdaRoleArn")
	keyArn := in.String("applicationKeyArn")
	bucket := in.String("artifactsBucketName")
	endpoint := in.String("endpoint")
	port := in.Int("port")
	maxReceive := in.Int("queueMaxReceiveCount")
	if err := in.Err(); err != nil {
		return err
	}
	if fnErr != nil {
		return fnErr
	}
	byName := map[string]function{}
	for _, f := range fns {
		byName[f.name] = f
	}
	switch {
	case !schedulePattern.MatchString(schedule):
		return fmt.Errorf("input \"scheduleExpression\": %q is not rate(N unit) or cron(…)", schedule)
	case scheduled != "" && byName[scheduled].name == "":
		return fmt.Errorf("input \"scheduledFunction\": %q is not one of the functions", scheduled)
	case consumer != "" && byName[consumer].name == "":
		return fmt.Errorf("input \"queueFunction\": %q is not one of the functions", consumer)
	case !retentionDays[retention]:
		return fmt.Errorf("input \"logRetentionDays\": %d is not a CloudWatch Logs retention period", retention)
	case len(subnets) == 0:
		return fmt.Errorf("input \"privateSubnetIds\" lists no subnet")
	case port < 1 || port > 65535:
		return fmt.Errorf("input \"port\" must be a TCP port, got %v", in.Number("port"))
	case maxReceive < 1 || maxReceive > 1000:
		return fmt.Errorf("input \"queueMaxReceiveCount\" must be between 1 and 1000, got %d", maxReceive)
	}
	roleName, err := roleNameOf(roleArn)
	if err != nil {
		return err
	}
	dbHost, _, _ := strings.Cut(endpoint, ":")

	dlqName := awskit.NameMax(c, "dlq", 80)
	dlq, err := sqs.NewQueue(ctx, dlqName, &sqs.QueueArgs{
		Name:                         pulumi.String(dlqName),
		KmsMasterKeyId:               pulumi.String(keyArn),
		KmsDataKeyReusePeriodSeconds: pulumi.Int(300),
		MessageRetentionSeconds:      pulumi.Int(14 * 24 * 3600),
		Tags:                         awskit.NamedTags(c, dlqName),
	})
	if err != nil {
		return fmt.Errorf("dead-letter queue: %w", err)
	}
	// Lambda needs the visibility timeout to cover the consumer's timeout;
	// AWS recommends six times it, so retries of a throttled batch do not
	// deliver a message twice.
	visibility := 30
	if consumer != "" {
		visibility = min(6*byName[consumer].timeout, 43200)
	}
	queueName := awskit.NameMax(c, "queue", 80)
	redrive := dlq.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{"deadLetterTargetArn": arn, "maxReceiveCount": maxReceive})
		return string(b), err
	}).(pulumi.StringOutput)
	queue, err := sqs.NewQueue(ctx, queueName, &sqs.QueueArgs{
		Name:                         pulumi.String(queueName),
		KmsMasterKeyId:               pulumi.String(keyArn),
		KmsDataKeyReusePeriodSeconds: pulumi.Int(300),
		VisibilityTimeoutSeconds:     pulumi.Int(visibility),
		ReceiveWaitTimeSeconds:       pulumi.Int(20),
		RedrivePolicy:                redrive,
		Tags:                         awskit.NamedTags(c, queueName),
	})
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	topicName := awskit.NameMax(c, "events", 256)
	topic, err := sns.NewTopic(ctx, topicName, &sns.TopicArgs{
		Name: pulumi.String(topicName), KmsMasterKeyId: pulumi.String(keyArn), Tags: awskit.NamedTags(c, topicName),
	})
	if err != nil {
		return fmt.Errorf("topic: %w", err)
	}

	var logArns pulumi.StringArray
	logGroups := map[string]*cloudwatch.LogGroup{}
	for _, f := range fns {
		logName := "/cloud/" + awskit.Name(c, f.name)
		lg, err := cloudwatch.NewLogGroup(ctx, awskit.Name(c, f.name+"-logs"), &cloudwatch.LogGroupArgs{
			Name: pulumi.String(logName), RetentionInDays: pulumi.Int(retention), Tags: awskit.NamedTags(c, logName),
		})
		if err != nil {
			return fmt.Errorf("log group %s: %w", f.name, err)
		}
		logGroups[f.name] = lg
		logArns = append(logArns, lg.Arn)
	}

	doc := pulumi.All(queue.Arn, dlq.Arn, topic.Arn, logArns.ToStringArrayOutput()).ApplyT(func(xs []any) (string, error) {
		return functionPolicy(xs[0].(string), xs[1].(string), xs[2].(string), keyArn, xs[3].([]string))
	}).(pulumi.StringOutput)
	policy, err := iam.NewRolePolicy(ctx, awskit.Name(c, "functions-policy"), &iam.RolePolicyArgs{
		Name: pulumi.String(awskit.NameMax(c, "functions", 128)), Role: pulumi.String(roleName), Policy: doc,
	})
	if err != nil {
		return fmt.Errorf("function policy: %w", err)
	}

	arns := pulumi.StringMap{}
	functions := map[string]*lambda.Function{}
	for _, f := range fns {
		name := awskit.NameMax(c, f.name, 64)
		fn, err := lambda.NewFunction(ctx, name, &lambda.FunctionArgs{
			Name:       pulumi.String(name),
			Role:       pulumi.String(roleArn),
			Handler:    pulumi.String(f.handler),
			Runtime:    pulumi.String(f.runtime),
			MemorySize: pulumi.Int(f.memory),
			Timeout:    pulumi.Int(f.timeout),
			S3Bucket:   pulumi.String(bucket),
			S3Key:      pulumi.String(prefix + f.name + ".zip"),
			KmsKeyArn:  pulumi.String(keyArn),
			VpcConfig: lambda.FunctionVpcConfigArgs{
				SubnetIds: pulumi.ToStringArray(subnets), SecurityGroupIds: pulumi.StringArray{pulumi.String(sg)},
			},
			DeadLetterConfig: lambda.FunctionDeadLetterConfigArgs{TargetArn: dlq.Arn},
			TracingConfig:    lambda.FunctionTracingConfigArgs{Mode: pulumi.String("Active")},
			LoggingConfig:    lambda.FunctionLoggingConfigArgs{LogFormat: pulumi.String("JSON"), LogGroup: logGroups[f.name].Name},
			Environment: lambda.FunctionEnvironmentArgs{Variables: pulumi.StringMap{
				"DB_HOST":   pulumi.String(dbHost),
				"DB_PORT":   pulumi.String(fmt.Sprint(port)),
				"QUEUE_URL": queue.Url,
				"TOPIC_ARN": topic.Arn,
			}},
			Tags: awskit.NamedTags(c, name),
		}, pulumi.DependsOn([]pulumi.Resource{policy}))
		if err != nil {
			return fmt.Errorf("function %s: %w", f.name, err)
		}
		functions[f.name] = fn
		arns[f.name] = fn.Arn
	}

	if consumer != "" {
		if _, err := lambda.NewEventSourceMapping(ctx, awskit.Name(c, "queue-"+consumer), &lambda.EventSourceMappingArgs{
			EventSourceArn:        queue.Arn,
			FunctionName:          functions[consumer].Arn,
			BatchSize:             pulumi.Int(10),
			FunctionResponseTypes: pulumi.StringArray{pulumi.String("ReportBatchItemFailures")},
			Tags:                  awskit.Tags(c, nil),
		}); err != nil {
			return fmt.Errorf("queue mapping: %w", err)
		}
	}
	if scheduled != "" {
		ruleName := awskit.NameMax(c, "schedule", 64)
		rule, err := cloudwatch.NewEventRule(ctx, ruleName, &cloudwatch.EventRuleArgs{
			Name:               pulumi.String(ruleName),
			Description:        pulumi.String("invokes " + scheduled + " on " + schedule),
			ScheduleExpression: pulumi.String(schedule),
			Tags:               awskit.NamedTags(c, ruleName),
		})
		if err != nil {
			return fmt.Errorf("schedule rule: %w", err)
		}
		perm, err := lambda.NewPermission(ctx, ruleName+"-invoke", &lambda.PermissionArgs{
			Action: pulumi.String("lambda:InvokeFunction"), Function: functions[scheduled].Name,
			Principal: pulumi.String("events.amazonaws.com"), SourceArn: rule.Arn,
		})
		if err != nil {
			return fmt.Errorf("schedule permission: %w", err)
		}
		if _, err := cloudwatch.NewEventTarget(ctx, ruleName+"-target", &cloudwatch.EventTargetArgs{
			Rule: rule.Name, Arn: functions[scheduled].Arn,
			RetryPolicy: cloudwatch.EventTargetRetryPolicyArgs{MaximumRetryAttempts: pulumi.Int(2), MaximumEventAgeInSeconds: pulumi.Int(3600)},
		}, pulumi.DependsOn([]pulumi.Resource{perm})); err != nil {
			return fmt.Errorf("schedule target: %w", err)
		}
	}

	out.Export("functionArns", arns)
	out.Export("queueUrl", queue.Url)
	out.Export("topicArn", topic.Arn)
	return nil
}

// parseFunctions reads the functions input, sorted by name; errors name
// the offending field as functions.<name>.<field>.
func parseFunctions(v any) ([]function, error) {
	names, m, err := awskit.Entries("functions", v, "function")
	if err != nil {
		return nil, err
	}
	var fns []function
	for _, n := range names {
		where := "functions." + n
		if !namePattern.MatchString(n) {
			return nil, fmt.Errorf("input %q: the name must be lowercase letters, digits and dashes", where)
		}
		spec, ok := m[n].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("input %q: want an object with handler, runtime and memory, got %T", where, m[n])
		}
		f := function{name: n, timeout: 30}
		var err error
		if f.handler, err = stringField(spec, where, "handler"); err != nil {
			return nil, err
		}
		if f.runtime, err = stringField(spec, where, "runtime"); err != nil {
			return nil, err
		}
		if !runtimes[f.runtime] {
			return nil, fmt.Errorf("input %q: %q is not a supported Lambda runtime", where+".runtime", f.runtime)
		}
		if f.memory, err = intField(spec, where, "memory", 128, 10240); err != nil {
			return nil, err
		}
		if _, set := spec["timeout"]; set {
			if f.timeout, err = intField(spec, where, "timeout", 1, 900); err != nil {
				return nil, err
			}
		}
		fns = append(fns, f)
	}
	return fns, nil
}

func stringField(spec map[string]any, where, key string) (string, error) {
	s, ok := spec[key].(string)
	if !ok || s == "" {
		return "", fmt.Errorf("input %q: want a non-empty string, got %v", where+"."+key, spec[key])
	}
	return s, nil
}

func intField(spec map[string]any, where, key string, lo, hi int) (int, error) {
	var f float64
	switch n := spec[key].(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case nil:
		return 0, fmt.Errorf("input %q is required", where+"."+key)
	default:
		return 0, fmt.Errorf("input %q: want a number, got %T", where+"."+key, spec[key])
	}
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, fmt.Errorf("input %q: want a whole number between %d and %d, got %v", where+"."+key, lo, hi, f)
	}
	return int(f), nil
}

// roleNameOf is the role name of an IAM role ARN, which may carry a path.
func roleNameOf(arn string) (string, error) {
	_, rest, ok := strings.Cut(arn, ":role/")
	if !ok || !strings.HasPrefix(arn, "arn:") || rest == "" {
		return "", fmt.Errorf("input \"lambdaRoleArn\": %q is not an IAM role ARN", arn)
	}
	return rest[strings.LastIndex(rest, "/")+1:], nil
}

// functionPolicy grants the functions exactly what this stack's wiring
// needs; network access and basic execution come with the role.
func functionPolicy(queueArn, dlqArn, topicArn, keyArn string, logArns []string) (string, error) {
	logs := make([]string, 0, 2*len(logArns))
	for _, a := range logArns {
		logs = append(logs, a, a+":*")
	}
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{"Sid": "ConsumeQueue", "Effect": "Allow", "Action": []string{
				"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:SendMessage",
			}, "Resource": queueArn},
			map[string]any{"Sid": "DeadLetter", "Effect": "Allow", "Action": []string{"sqs:SendMessage"}, "Resource": dlqArn},
			map[string]any{"Sid": "Publish", "Effect": "Allow", "Action": []string{"sns:Publish"}, "Resource": topicArn},
			map[string]any{"Sid": "Kms", "Effect": "Allow", "Action": []string{"kms:Decrypt", "kms:GenerateDataKey"}, "Resource": keyArn},
			map[string]any{"Sid": "Logs", "Effect": "Allow", "Action": []string{"logs:CreateLogStream", "logs:PutLogEvents"}, "Resource": logs},
			map[string]any{"Sid": "Tracing", "Effect": "Allow", "Action": []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}, "Resource": "*"},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("function policy: %w", err)
	}
	return string(b), nil
}
