package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/aws/awstest"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	typeInstance    = "aws:rds/instance:Instance"
	typeSubnetGroup = "aws:rds/subnetGroup:SubnetGroup"
	typeParams      = "aws:rds/parameterGroup:ParameterGroup"
	typeAlarm       = "aws:cloudwatch/metricAlarm:MetricAlarm"
	typeRole        = "aws:iam/role:Role"

	keyArn    = "arn:aws:kms:us-east-1:123456789012:key/5678abcd-12ab-34cd-56ef-1234567890ab"
	secretArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:d1a2b3c4-secrets-dev-database-master-AbCdEf"
	primaryID = "d1a2b3c4-database-rds-dev-postgres"
)

func cfg(extra map[string]any) map[string]any {
	c := map[string]any{
		"databaseSubnetIds": []any{"subnet-0db1", "subnet-0db2"}, "dbSgId": "sg-0db1234567890abcd",
		"databaseKeyArn": keyArn, "databaseMasterSecretArn": secretArn,
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestRDS_Primary(t *testing.T) {
	r := awstest.Run(t, Stack, cfg(nil))
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)

	if n := len(r.OfType(typeInstance)); n != 1 {
		t.Fatalf("instances = %d, want 1 without createReplica", n)
	}
	db := r.One(t, typeInstance, "-postgres")
	want := map[string]any{
		"identifier": primaryID, "engine": "postgres", "engineVersion": "16", "instanceClass": "db.t3.medium",
		"allocatedStorage": 20.0, "maxAllocatedStorage": 100.0, "storageEncrypted": true, "kmsKeyId": keyArn,
		"dbSubnetGroupName": "d1a2b3c4-database-rds-dev-subnets", "parameterGroupName": "d1a2b3c4-database-rds-dev-postgres16",
		"multiAz": false, "publiclyAccessible": false, "deletionProtection": true, "backupRetentionPeriod": 7.0,
		"skipFinalSnapshot": false, "performanceInsightsEnabled": true, "performanceInsightsKmsKeyId": keyArn,
		"iamDatabaseAuthenticationEnabled": true, "dbName": "app", "username": "dbadmin", "password": "mock-Passw0rd-123",
		"monitoringInterval": 60.0, "storageType": "gp3",
	}
	for k, v := range want {
		if !reflect.DeepEqual(db.Inputs[k], v) {
			t.Errorf("instance %s = %#v, want %#v", k, db.Inputs[k], v)
		}
	}
	if !reflect.DeepEqual(db.Inputs["vpcSecurityGroupIds"], []any{"sg-0db1234567890abcd"}) {
		t.Errorf("security groups = %v", db.Inputs["vpcSecurityGroupIds"])
	}
	if !db.Raw["password"].ContainsSecrets() {
		t.Error("master password is not a secret")
	}
	if fs, _ := db.Inputs["finalSnapshotIdentifier"].(string); fs == "" {
		t.Error("no final snapshot identifier")
	}

	sng := r.One(t, typeSubnetGroup, "-subnets")
	if !reflect.DeepEqual(sng.Inputs["subnetIds"], []any{"subnet-0db1", "subnet-0db2"}) {
		t.Errorf("subnet group = %v", sng.Inputs)
	}
	pg := r.One(t, typeParams, "-postgres16")
	if pg.Inputs["family"] != "postgres16" {
		t.Errorf("parameter family = %v", pg.Inputs["family"])
	}
	forceSSL := false
	for _, p := range pg.Inputs["parameters"].([]any) {
		p := p.(map[string]any)
		if p["name"] == "rds.force_ssl" && p["value"] == "1" {
			forceSSL = true
		}
	}
	if !forceSSL {
		t.Error("rds.force_ssl is not on")
	}

	role := r.One(t, typeRole, "-rds-monitoring")
	var trust struct {
		Statement []struct{ Principal map[string]string }
	}
	if err := json.Unmarshal([]byte(role.Inputs["assumeRolePolicy"].(string)), &trust); err != nil || trust.Statement[0].Principal["Service"] != "monitoring.rds.amazonaws.com" {
		t.Errorf("monitoring trust = %v (%v)", role.Inputs["assumeRolePolicy"], err)
	}

	alarms := r.OfType(typeAlarm)
	if len(alarms) != 3 {
		t.Fatalf("alarms = %d, want 3", len(alarms))
	}
	cpu := r.One(t, typeAlarm, "-postgres-cpu-high")
	if cpu.Inputs["threshold"] != 80.0 || cpu.Inputs["metricName"] != "CPUUtilization" ||
		cpu.Inputs["dimensions"].(map[string]any)["DBInstanceIdentifier"] != primaryID || cpu.Inputs["alarmActions"] != nil {
		t.Errorf("cpu alarm = %v", cpu.Inputs)
	}

	if !strings.HasPrefix(r.Values["endpoint"].(string), primaryID+".") || strings.Contains(r.Values["endpoint"].(string), ":") {
		t.Errorf("endpoint = %v, want the host name", r.Values["endpoint"])
	}
	if r.Values["port"] != 5432 && r.Values["port"] != 5432.0 {
		t.Errorf("port = %#v", r.Values["port"])
	}
	if r.Values["databaseName"] != "app" || r.Values["replicaEndpoint"] != "" {
		t.Errorf("databaseName = %v, replicaEndpoint = %v", r.Values["databaseName"], r.Values["replicaEndpoint"])
	}
}

func TestRDS_MultiAzReplicaAndOptions(t *testing.T) {
	topic := "arn:aws:sns:us-east-1:123456789012:alerts"
	r := awstest.Run(t, Stack, cfg(map[string]any{
		"multiAz": true, "createReplica": true, "deletionProtection": false, "engineVersion": "15.7",
		"instanceClass": "db.r6g.large", "alarmTopicArn": topic, "maxAllocatedStorage": 0.0,
	}))
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)
	db := r.One(t, typeInstance, "-dev-postgres")
	if db.Inputs["multiAz"] != true || db.Inputs["deletionProtection"] != false || db.Inputs["engineVersion"] != "15.7" ||
		db.Inputs["instanceClass"] != "db.r6g.large" || db.Inputs["maxAllocatedStorage"] != nil {
		t.Errorf("primary = %v", db.Inputs)
	}
	if pg := r.One(t, typeParams, "-postgres15"); pg.Inputs["family"] != "postgres15" {
		t.Errorf("family = %v", pg.Inputs["family"])
	}
	rep := r.One(t, typeInstance, "-postgres-replica")
	if rep.Inputs["replicateSourceDb"] != primaryID || rep.Inputs["storageEncrypted"] != true || rep.Inputs["kmsKeyId"] != keyArn ||
		rep.Inputs["publiclyAccessible"] != false || rep.Inputs["password"] != nil {
		t.Errorf("replica = %v", rep.Inputs)
	}
	if v, _ := r.Values["replicaEndpoint"].(string); !strings.HasPrefix(v, "d1a2b3c4-database-rds-dev-postgres-replica.") {
		t.Errorf("replicaEndpoint = %v", r.Values["replicaEndpoint"])
	}
	if n := len(r.OfType(typeAlarm)); n != 7 {
		t.Errorf("alarms = %d, want 3 per instance + replica lag", n)
	}
	lag := r.One(t, typeAlarm, "-replica-lag")
	if !reflect.DeepEqual(lag.Inputs["alarmActions"], []any{topic}) || !reflect.DeepEqual(lag.Inputs["okActions"], []any{topic}) {
		t.Errorf("replica lag alarm actions = %v", lag.Inputs)
	}
}

func TestRDS_BadInputs(t *testing.T) {
	cases := []struct {
		config map[string]any
		want   string
	}{
		{cfg(map[string]any{"databaseSubnetIds": []any{"subnet-1"}}), `"databaseSubnetIds"`},
		{cfg(map[string]any{"dbSgId": "default"}), `"dbSgId"`},
		{cfg(map[string]any{"databaseKeyArn": "alias/db"}), `"databaseKeyArn"`},
		{cfg(map[string]any{"databaseMasterSecretArn": "my-secret"}), `"databaseMasterSecretArn"`},
		{cfg(map[string]any{"instanceClass": "t3.medium"}), `"instanceClass"`},
		{cfg(map[string]any{"allocatedStorage": 10.0}), `"allocatedStorage"`},
		{cfg(map[string]any{"engineVersion": "latest"}), `"engineVersion"`},
		{cfg(map[string]any{"databaseName": "my-db"}), `"databaseName"`},
		{cfg(map[string]any{"backupRetentionDays": 0.0}), `"backupRetentionDays"`},
		{map[string]any{"dbSgId": "sg-1", "databaseKeyArn": keyArn, "databaseMasterSecretArn": secretArn}, `"databaseSubnetIds"`},
	}
	for _, tc := range cases {
		r := awstest.RunErr(t, Stack, tc.config)
		if !strings.Contains(r.Validation.Error, tc.want) {
			t.Errorf("config %v: error %q does not name %s", tc.config, r.Validation.Error, tc.want)
		}
	}
}

func TestRDS_Validate(t *testing.T) {
	awstest.AssertValidates(t, Stack)
}

func TestRDS_SecretWithoutCredentials(t *testing.T) {
	for _, body := range []string{`not json`, `{"username":"dbadmin"}`} {
		s := Stack
		s.Mocks = awskit.Mocks{Calls: map[string]awskit.CallFunc{
			"aws:secretsmanager/getSecretVersion:getSecretVersion": func(m awskit.Mocks, a pulumi.MockCallArgs) (resource.PropertyMap, error) {
				return resource.PropertyMap{"id": resource.NewStringProperty(secretArn), "secretString": resource.NewStringProperty(body)}, nil
			},
		}}
		r := awstest.RunErr(t, s, cfg(nil))
		if !strings.Contains(r.Validation.Error, `"databaseMasterSecretArn"`) {
			t.Errorf("secret %q: error %q does not name the input", body, r.Validation.Error)
		}
	}
}

// TestRDS_ManagedPassword: with no master secret (the minimal template has
// no secrets stack), RDS generates the password and keeps it in a secret of
// its own, encrypted with the database key; no password is in the program.
func TestRDS_ManagedPassword(t *testing.T) {
	r := awstest.Run(t, Stack, cfg(map[string]any{"databaseMasterSecretArn": "", "masterUsername": "owner"}))
	r.AssertOutputs(t)
	db := r.One(t, typeInstance, "-postgres")
	if db.Inputs["manageMasterUserPassword"] != true || db.Inputs["masterUserSecretKmsKeyId"] != keyArn ||
		db.Inputs["username"] != "owner" || db.Inputs["password"] != nil {
		t.Errorf("managed password: manage %v, key %v, username %v, password %v", db.Inputs["manageMasterUserPassword"],
			db.Inputs["masterUserSecretKmsKeyId"], db.Inputs["username"], db.Inputs["password"])
	}
	bad := awstest.RunErr(t, Stack, cfg(map[string]any{"databaseMasterSecretArn": "", "masterUsername": "1x"}))
	if !strings.Contains(bad.Validation.Error, `"masterUsername"`) {
		t.Errorf("bad user name: %q", bad.Validation.Error)
	}
}
