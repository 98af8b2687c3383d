package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

const (
	keyArn  = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	roleArn = "arn:aws:iam::123456789012:role/app/d1a2b3c4-security-dev-lambda"
)

func config(extra map[string]any) map[string]any {
	c := map[string]any{
		"privateSubnetIds":    []any{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"},
		"lambdaSgId":          "sg-0123456789abcdef0",
		"lambdaRoleArn":       roleArn,
		"applicationKeyArn":   keyArn,
		"artifactsBucketName": "d1a2b3c4-storage-dev-artifacts",
		"endpoint":            "db.abcdefghijkl.us-east-1.rds.amazonaws.com:5432",
		"port":                5432.0,
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestStack_Defaults(t *testing.T) {
	r := awstest.Run(t, Stack, config(nil))

	dlq := r.One(t, "aws:sqs/queue:Queue", "-dlq")
	queue := r.One(t, "aws:sqs/queue:Queue", "-queue")
	for _, q := range []awstest.Resource{dlq, queue} {
		if q.Inputs["kmsMasterKeyId"] != keyArn {
			t.Errorf("%s: kmsMasterKeyId = %v, want the application key", q.Name, q.Inputs["kmsMasterKeyId"])
		}
	}
	var redrive struct {
		DeadLetterTargetArn string  `json:"deadLetterTargetArn"`
		MaxReceiveCount     float64 `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(queue.Inputs["redrivePolicy"].(string)), &redrive); err != nil ||
		!strings.HasSuffix(redrive.DeadLetterTargetArn, "-dlq") || redrive.MaxReceiveCount != 5 {
		t.Errorf("redrive policy = %v (%v), want the DLQ after 5 receives", queue.Inputs["redrivePolicy"], err)
	}
	if got := queue.Inputs["visibilityTimeoutSeconds"]; got != 720.0 {
		t.Errorf("queue visibility = %v, want 6 × the worker's 120 s", got)
	}
	if topic := r.One(t, "aws:sns/topic:Topic", "-events"); topic.Inputs["kmsMasterKeyId"] != keyArn {
		t.Errorf("topic key = %v", topic.Inputs["kmsMasterKeyId"])
	}

	if got := len(r.OfType("aws:lambda/function:Function")); got != 2 {
		t.Fatalf("functions = %d, want 2", got)
	}
	for name, mem := range map[string]float64{"api": 256, "worker": 512} {
		fn := r.One(t, "aws:lambda/function:Function", "-"+name)
		in := fn.Inputs
		if in["name"] != "d1a2b3c4-compute-lambda-dev-"+name || in["memorySize"] != mem || in["runtime"] != "nodejs20.x" || in["handler"] != "index.handler" {
			t.Errorf("%s: name/memory/runtime/handler = %v %v %v %v", name, in["name"], in["memorySize"], in["runtime"], in["handler"])
		}
		if in["role"] != roleArn || in["s3Bucket"] != "d1a2b3c4-storage-dev-artifacts" || in["s3Key"] != "lambda/"+name+".zip" {
			t.Errorf("%s: role/code = %v %v %v", name, in["role"], in["s3Bucket"], in["s3Key"])
		}
		vpc := in["vpcConfig"].(map[string]any)
		if sn := vpc["subnetIds"].([]any); len(sn) != 2 || sn[0] != "subnet-0aaa1111bbbb2222c" {
			t.Errorf("%s: subnets = %v", name, sn)
		}
		if sg := vpc["securityGroupIds"].([]any); len(sg) != 1 || sg[0] != "sg-0123456789abcdef0" {
			t.Errorf("%s: security groups = %v", name, sg)
		}
		if dl := in["deadLetterConfig"].(map[string]any)["targetArn"]; !strings.HasSuffix(dl.(string), "-dlq") {
			t.Errorf("%s: DLQ = %v", name, dl)
		}
		env := in["environment"].(map[string]any)["variables"].(map[string]any)
		if env["DB_HOST"] != "db.abcdefghijkl.us-east-1.rds.amazonaws.com" || env["DB_PORT"] != "5432" || env["QUEUE_URL"] == nil {
			t.Errorf("%s: environment = %v", name, env)
		}
		if lc := in["loggingConfig"].(map[string]any); lc["logGroup"] != "/cloud/d1a2b3c4-compute-lambda-dev-"+name {
			t.Errorf("%s: log group = %v", name, lc["logGroup"])
		}
		if in["kmsKeyArn"] != keyArn || in["tracingConfig"].(map[string]any)["mode"] != "Active" {
			t.Errorf("%s: kms/tracing = %v %v", name, in["kmsKeyArn"], in["tracingConfig"])
		}
	}
	if lg := r.One(t, "aws:cloudwatch/logGroup:LogGroup", "-api-logs"); lg.Inputs["retentionInDays"] != 30.0 {
		t.Errorf("log retention = %v", lg.Inputs["retentionInDays"])
	}

	esm := r.One(t, "aws:lambda/eventSourceMapping:EventSourceMapping", "-queue-worker")
	if !strings.HasSuffix(esm.Inputs["eventSourceArn"].(string), "-queue") || !strings.HasSuffix(esm.Inputs["functionName"].(string), "-worker") {
		t.Errorf("queue mapping = %v", esm.Inputs)
	}
	rule := r.One(t, "aws:cloudwatch/eventRule:EventRule", "-schedule")
	if rule.Inputs["scheduleExpression"] != "rate(1 hour)" {
		t.Errorf("schedule = %v", rule.Inputs["scheduleExpression"])
	}
	if tgt := r.One(t, "aws:cloudwatch/eventTarget:EventTarget", "-schedule-target"); !strings.HasSuffix(tgt.Inputs["arn"].(string), "-worker") {
		t.Errorf("schedule target = %v", tgt.Inputs["arn"])
	}
	if p := r.One(t, "aws:lambda/permission:Permission", "-schedule-invoke"); p.Inputs["principal"] != "events.amazonaws.com" {
		t.Errorf("permission principal = %v", p.Inputs["principal"])
	}

	pol := r.One(t, "aws:iam/rolePolicy:RolePolicy", "-functions-policy")
	if pol.Inputs["role"] != "d1a2b3c4-security-dev-lambda" {
		t.Errorf("policy role = %v, want the name from lambdaRoleArn", pol.Inputs["role"])
	}
	var doc struct{ Statement []map[string]any }
	if err := json.Unmarshal([]byte(pol.Inputs["policy"].(string)), &doc); err != nil {
		t.Fatal(err)
	}
	byID := map[string]map[string]any{}
	for _, s := range doc.Statement {
		byID[s["Sid"].(string)] = s
		if s["Action"] == "*" || strings.HasSuffix(strings.Join(toStrings(s["Action"]), ","), ":*") {
			t.Errorf("statement %v grants a wildcard action", s["Sid"])
		}
	}
	if s := byID["DeadLetter"]; s == nil || !strings.HasSuffix(s["Resource"].(string), "-dlq") {
		t.Errorf("dead-letter statement = %v", s)
	}
	if s := byID["Publish"]; s == nil || strings.Join(toStrings(s["Action"]), ",") != "sns:Publish" {
		t.Errorf("publish statement = %v", s)
	}

	arns := r.Values["functionArns"].(map[string]string)
	if len(arns) != 2 || !strings.HasSuffix(arns["api"], "-api") {
		t.Errorf("functionArns = %v", arns)
	}
	if !strings.HasPrefix(r.Values["queueUrl"].(string), "https://sqs.us-east-1.amazonaws.com/") {
		t.Errorf("queueUrl = %v", r.Values["queueUrl"])
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
}

func TestStack_NoScheduleNoConsumer(t *testing.T) {
	r := awstest.Run(t, Stack, config(map[string]any{
		"functions":         map[string]any{"thumbs": map[string]any{"handler": "main.handler", "runtime": "python3.12", "memory": 1024.0}},
		"scheduledFunction": "", "queueFunction": "",
	}))
	fn := r.One(t, "aws:lambda/function:Function", "-thumbs")
	if fn.Inputs["timeout"] != 30.0 || fn.Inputs["memorySize"] != 1024.0 {
		t.Errorf("timeout/memory = %v %v, want the 30 s default and 1024", fn.Inputs["timeout"], fn.Inputs["memorySize"])
	}
	if n := len(r.OfType("aws:cloudwatch/eventRule:EventRule")) + len(r.OfType("aws:lambda/eventSourceMapping:EventSourceMapping")); n != 0 {
		t.Errorf("%d schedule/queue resources, want none", n)
	}
	r.AssertOutputs(t)
}

func TestStack_BadInputs(t *testing.T) {
	fns := func(spec map[string]any) map[string]any {
		return map[string]any{"functions": map[string]any{"api": spec}, "scheduledFunction": "", "queueFunction": ""}
	}
	for _, tc := range []struct {
		config map[string]any
		want   string
	}{
		{fns(map[string]any{"handler": "index.handler", "runtime": "nodejs20.x", "memory": 64.0}), "functions.api.memory"},
		{fns(map[string]any{"handler": "index.handler", "runtime": "cobol", "memory": 128.0}), "functions.api.runtime"},
		{fns(map[string]any{"runtime": "nodejs20.x", "memory": 128.0}), "functions.api.handler"},
		{fns(map[string]any{"handler": "h", "runtime": "nodejs20.x", "memory": 128.0, "timeout": 901.0}), "functions.api.timeout"},
		{map[string]any{"scheduledFunction": "nightly"}, "scheduledFunction"},
		{map[string]any{"queueFunction": "nope"}, "queueFunction"},
		{map[string]any{"scheduleExpression": "every hour"}, "scheduleExpression"},
		{map[string]any{"lambdaRoleArn": "lambda-role"}, "lambdaRoleArn"},
		{map[string]any{"privateSubnetIds": []any{}}, "privateSubnetIds"},
	} {
		r := awstest.RunErr(t, Stack, config(tc.config))
		if !strings.Contains(r.Validation.Error, tc.want) {
			t.Errorf("config %v: error = %q, want it to name %s", tc.config, r.Validation.Error, tc.want)
		}
	}
}

func TestStack_Validate(t *testing.T) {
	awstest.AssertValidates(t, Stack)
}

func toStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i], _ = e.(string)
		}
		return out
	}
	return nil
}

// TestTemplateFile keeps template.json, which the library's generated
// templates and docs are made from, in step with the template.
func TestTemplateFile(t *testing.T) { awstest.CheckTemplateFile(t, Stack) }
