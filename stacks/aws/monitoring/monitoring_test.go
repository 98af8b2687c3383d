package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

const (
	albArn     = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/d1a2b3c4-containers-apps-dev-alb/50dc6c495c0c9188"
	clusterArn = "arn:aws:ecs:us-east-1:123456789012:cluster/d1a2b3c4-containers-apps-dev-cluster"
)

func config(extra map[string]any) map[string]any {
	c := map[string]any{
		"alertEmail":  "ops@example.com",
		"albArn":      albArn,
		"clusterArn":  clusterArn,
		"endpoint":    "d1a2b3c4-database-rds-dev-postgres.abcdefghijkl.us-east-1.rds.amazonaws.com:5432",
		"serviceArns": map[string]any{},
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestStack_Defaults(t *testing.T) {
	r := awstest.Run(t, Stack, config(nil))

	topic := r.One(t, "aws:sns/topic:Topic", "-alerts")
	if !strings.HasSuffix(topic.Inputs["kmsMasterKeyId"].(string), "-alerts-key") {
		t.Errorf("topic key = %v, want the stack's own alerts key", topic.Inputs["kmsMasterKeyId"])
	}
	key := r.One(t, "aws:kms/key:Key", "-alerts-key")
	if key.Inputs["enableKeyRotation"] != true || !strings.Contains(key.Inputs["policy"].(string), `"Service":"cloudwatch.amazonaws.com"`) {
		t.Errorf("alerts key = %v, want rotation and CloudWatch allowed", key.Inputs)
	}
	sub := r.One(t, "aws:sns/topicSubscription:TopicSubscription", "-alerts-email")
	if sub.Inputs["protocol"] != "email" || sub.Inputs["endpoint"] != "ops@example.com" {
		t.Errorf("subscription = %v", sub.Inputs)
	}
	if p := r.One(t, "aws:sns/topicPolicy:TopicPolicy", "-alerts-policy"); !strings.Contains(p.Inputs["policy"].(string), `"Action":"sns:Publish"`) {
		t.Errorf("topic policy = %v", p.Inputs["policy"])
	}

	topicArn := r.Values["alertsTopicArn"]
	want := map[string]struct {
		metric    string
		threshold float64
		dim, val  string
	}{
		"-alb-5xx":         {"HTTPCode_ELB_5XX_Count", 10, "LoadBalancer", "app/d1a2b3c4-containers-apps-dev-alb/50dc6c495c0c9188"},
		"-alb-target-5xx":  {"HTTPCode_Target_5XX_Count", 10, "LoadBalancer", "app/d1a2b3c4-containers-apps-dev-alb/50dc6c495c0c9188"},
		"-alb-latency":     {"TargetResponseTime", 2, "LoadBalancer", "app/d1a2b3c4-containers-apps-dev-alb/50dc6c495c0c9188"},
		"-ecs-cpu":         {"CPUUtilization", 80, "ClusterName", "d1a2b3c4-containers-apps-dev-cluster"},
		"-ecs-memory":      {"MemoryUtilization", 80, "ClusterName", "d1a2b3c4-containers-apps-dev-cluster"},
		"-rds-cpu":         {"CPUUtilization", 80, "DBInstanceIdentifier", "d1a2b3c4-database-rds-dev-postgres"},
		"-rds-storage":     {"FreeStorageSpace", 5 * 1024 * 1024 * 1024, "DBInstanceIdentifier", "d1a2b3c4-database-rds-dev-postgres"},
		"-rds-connections": {"DatabaseConnections", 200, "DBInstanceIdentifier", "d1a2b3c4-database-rds-dev-postgres"},
	}
	if n := len(r.OfType("aws:cloudwatch/metricAlarm:MetricAlarm")); n != len(want) {
		t.Errorf("alarms = %d, want %d", n, len(want))
	}
	for suffix, w := range want {
		a := r.One(t, "aws:cloudwatch/metricAlarm:MetricAlarm", suffix)
		in := a.Inputs
		if in["metricName"] != w.metric || in["threshold"] != w.threshold || in["dimensions"].(map[string]any)[w.dim] != w.val {
			t.Errorf("alarm %s = %v %v %v", suffix, in["metricName"], in["threshold"], in["dimensions"])
		}
		if acts := in["alarmActions"].([]any); len(acts) != 1 || acts[0] != topicArn {
			t.Errorf("alarm %s actions = %v, want the alert topic %v", suffix, acts, topicArn)
		}
		if oks := in["okActions"].([]any); len(oks) != 1 || oks[0] != topicArn {
			t.Errorf("alarm %s ok actions = %v", suffix, oks)
		}
	}
	if lat := r.One(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "-alb-latency"); lat.Inputs["extendedStatistic"] != "p95" {
		t.Errorf("latency statistic = %v", lat.Inputs["extendedStatistic"])
	}
	if st := r.One(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "-rds-storage"); st.Inputs["comparisonOperator"] != "LessThanThreshold" {
		t.Errorf("storage comparison = %v", st.Inputs["comparisonOperator"])
	}

	dash := r.One(t, "aws:cloudwatch/dashboard:Dashboard", "-overview")
	var body struct{ Widgets []map[string]any }
	if err := json.Unmarshal([]byte(dash.Inputs["dashboardBody"].(string)), &body); err != nil || len(body.Widgets) != 4 {
		t.Errorf("dashboard body: %v, %d widgets", err, len(body.Widgets))
	}
	if r.Values["dashboardName"] != "d1a2b3c4-monitoring-dev-overview" {
		t.Errorf("dashboardName = %v", r.Values["dashboardName"])
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
}

func TestStack_ServicesAndLogs(t *testing.T) {
	r := awstest.Run(t, Stack, config(map[string]any{
		"cpuThreshold":         65.0,
		"serviceArns":          map[string]any{"frontend": "arn:aws:ecs:us-east-1:123456789012:service/d1a2b3c4-containers-apps-dev-cluster/d1a2b3c4-containers-apps-dev-frontend"},
		"applicationLogGroups": []any{"/cloud/d1a2b3c4-containers-apps-dev-frontend"},
	}))
	svc := r.One(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "-ecs-frontend-cpu")
	dims := svc.Inputs["dimensions"].(map[string]any)
	if dims["ServiceName"] != "d1a2b3c4-containers-apps-dev-frontend" || dims["ClusterName"] != "d1a2b3c4-containers-apps-dev-cluster" || svc.Inputs["threshold"] != 65.0 {
		t.Errorf("service alarm = %v", svc.Inputs)
	}
	f := r.One(t, "aws:cloudwatch/logMetricFilter:LogMetricFilter", "-errors-0")
	mt := f.Inputs["metricTransformation"].(map[string]any)
	if f.Inputs["logGroupName"] != "/cloud/d1a2b3c4-containers-apps-dev-frontend" || f.Inputs["pattern"] != "?ERROR ?FATAL ?Exception" ||
		mt["name"] != "cloud-d1a2b3c4-containers-apps-dev-frontend-errors" {
		t.Errorf("metric filter = %v", f.Inputs)
	}
	a := r.One(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "-errors-0")
	if a.Inputs["metricName"] != mt["name"] || a.Inputs["namespace"] != mt["namespace"] || a.Inputs["threshold"] != 10.0 {
		t.Errorf("error alarm = %v", a.Inputs)
	}
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
}

func TestStack_BadInputs(t *testing.T) {
	for _, tc := range []struct {
		config map[string]any
		want   string
	}{
		{map[string]any{"alertEmail": "ops"}, "alertEmail"},
		{map[string]any{"cpuThreshold": 120.0}, "cpuThreshold"},
		{map[string]any{"dbFreeStorageThreshold": 0.0}, "dbFreeStorageThreshold"},
		{map[string]any{"albArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/x/1"}, "albArn"},
		{map[string]any{"clusterArn": "my-cluster"}, "clusterArn"},
		{map[string]any{"serviceArns": map[string]any{"web": "nope"}}, "serviceArns.web"},
		{map[string]any{"endpoint": "localhost"}, "endpoint"},
	} {
		r := awstest.RunErr(t, Stack, config(tc.config))
		if !strings.Contains(r.Validation.Error, tc.want) {
			t.Errorf("config %v: error = %q, want it to name %s", tc.config, r.Validation.Error, tc.want)
		}
	}
	r := awstest.RunErr(t, Stack, map[string]any{"albArn": albArn, "clusterArn": clusterArn, "endpoint": "db.example.com", "serviceArns": map[string]any{}})
	if !strings.Contains(r.Validation.Error, "alertEmail") {
		t.Errorf("missing alertEmail: error = %q", r.Validation.Error)
	}
}

func TestStack_Validate(t *testing.T) {
	awstest.AssertValidates(t, Stack)
}

// TestTemplateFile keeps template.json, which the library's generated
// templates and docs are made from, in step with the template.
func TestTemplateFile(t *testing.T) { awstest.CheckTemplateFile(t, Stack) }
