package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the database-rds stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:         "database-rds",
		Description:  "PostgreSQL RDS instance (optional read replica), subnet group, parameter group, CloudWatch alarms",
		Dependencies: []string{"network", "security", "secrets"},
		Inputs: map[string]protocol.Input{
			"databaseSubnetIds": {Type: protocol.TypeArray, Required: true,
				Example:     []any{"subnet-0aaa1111bbbb22223", "subnet-0ccc3333dddd44445"},
				Description: "isolated subnets of the DB subnet group, in at least two availability zones (network's databaseSubnetIds)"},
			"dbSgId": {Type: protocol.TypeString, Required: true, Example: "sg-0db1234567890abcd",
				Description: "security group of the instance (security's dbSgId)"},
			"databaseKeyArn": {Type: protocol.TypeString, Required: true,
				Example:     "arn:aws:kms:us-east-1:123456789012:key/5678abcd-12ab-34cd-56ef-1234567890ab",
				Description: "KMS key of the storage and Performance Insights (security's databaseKeyArn)"},
			"databaseMasterSecretArn": {Type: protocol.TypeString, Default: "",
				Description: "secret holding the master credentials as JSON {username, password} (secrets' databaseMasterSecretArn); empty: RDS generates the password and keeps it in a Secrets Manager secret of its own, encrypted with databaseKeyArn"},
			"masterUsername": {Type: protocol.TypeString, Default: "dbadmin",
				Description: "master user name when RDS manages the password (databaseMasterSecretArn empty)"},
			"instanceClass":       {Type: protocol.TypeString, Default: "db.t3.medium", Description: "instance class of the primary and the replica"},
			"allocatedStorage":    {Type: protocol.TypeNumber, Default: 20.0, Description: "initial storage in GiB (20 to 65536)"},
			"maxAllocatedStorage": {Type: protocol.TypeNumber, Default: 100.0, Description: "GiB storage autoscaling may grow to; 0 turns autoscaling off"},
			"multiAz":             {Type: protocol.TypeBoolean, Default: false, Description: "keep a synchronous standby in another availability zone"},
			"createReplica":       {Type: protocol.TypeBoolean, Default: false, Description: "create a read replica of the primary"},
			"engineVersion":       {Type: protocol.TypeString, Default: "16", Description: "PostgreSQL version: a major version (16) or major.minor (16.4)"},
			"databaseName":        {Type: protocol.TypeString, Default: "app", Description: "name of the database created in the instance"},
			"deletionProtection":  {Type: protocol.TypeBoolean, Default: true, Description: "refuse to delete the instance until this is turned off"},
			"backupRetentionDays": {Type: protocol.TypeNumber, Default: 7.0, Description: "days automated backups are kept (1 to 35)"},
			"cpuAlarmThreshold":   {Type: protocol.TypeNumber, Default: 80.0, Description: "CPU utilisation percentage that raises the CPU alarm"},
			"alarmTopicArn": {Type: protocol.TypeString, Default: "",
				Description: "SNS topic the alarms notify; empty (the default) records alarm state without notifying"},
		},
		Outputs: map[string]protocol.Output{
			"endpoint":        {Type: protocol.TypeString, Description: "host name of the primary (without the port)"},
			"port":            {Type: protocol.TypeNumber, Description: "port the instances listen on"},
			"databaseName":    {Type: protocol.TypeString, Description: "name of the application database"},
			"replicaEndpoint": {Type: protocol.TypeString, Description: "host name of the read replica; empty without one"},
		},
	},
	Mocks: awskit.Mocks{Calls: map[string]awskit.CallFunc{
		// awskit does not answer secret reads; this is the shape the
		// secrets stack stores.
		"aws:secretsmanager/getSecretVersion:getSecretVersion": func(m awskit.Mocks, a pulumi.MockCallArgs) (resource.PropertyMap, error) {
			id := "arn:aws:secretsmanager:us-east-1:123456789012:secret:mock"
			if v, ok := a.Args["secretId"]; ok && v.IsString() {
				id = v.StringValue()
			}
			return resource.PropertyMap{
				"id":           resource.NewStringProperty(id),
				"arn":          resource.NewStringProperty(id),
				"secretId":     resource.NewStringProperty(id),
				"secretString": resource.NewStringProperty(`{"username":"dbadmin","password":"mock-Passw0rd-123","engine":"postgres"}`),
				"versionId":    resource.NewStringProperty("v1"),
			}, nil
		},
	}},
	Program: program,
}

var (
	versionRE = regexp.MustCompile(`^(\d+)(\.\d+)?$`)
	dbNameRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)
)

// credentials are the fields of the master secret the instance needs.
type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	subnets := in.StringList("databaseSubnetIds")
	sgID := in.String("dbSgId")
	keyArn := in.String("databaseKeyArn")
	secretArn := in.String("databaseMasterSecretArn")
	masterUser := in.String("masterUsername")
	class := in.String("instanceClass")
	storage := in.Int("allocatedStorage")
	maxStorage := in.Int("maxAllocatedStorage")
	multiAz := in.Bool("multiAz")
	replica := in.Bool("createReplica")
	version := in.String("engineVersion")
	dbName := in.String("databaseName")
	protect := in.Bool("deletionProtection")
	backups := in.Int("backupRetentionDays")
	cpu := in.Number("cpuAlarmThreshold")
	topic := in.String("alarmTopicArn")
	if err := in.Err(); err != nil {
		return err
	}
	switch {
	case len(subnets) < 2:
		return fmt.Errorf("input \"databaseSubnetIds\" needs subnets in at least two availability zones, got %d", len(subnets))
	case !strings.HasPrefix(sgID, "sg-"):
		return fmt.Errorf("input \"dbSgId\": %q is not a security group ID", sgID)
	case !strings.HasPrefix(keyArn, "arn:") || !strings.Contains(keyArn, ":kms:"):
		return fmt.Errorf("input \"databaseKeyArn\": %q is not a KMS key ARN", keyArn)
	case secretArn != "" && (!strings.HasPrefix(secretArn, "arn:") || !strings.Contains(secretArn, ":secretsmanager:")):
		return fmt.Errorf("input \"databaseMasterSecretArn\": %q is not a Secrets Manager ARN", secretArn)
	case !strings.HasPrefix(class, "db."):
		return fmt.Errorf("input \"instanceClass\": %q is not an RDS instance class such as db.t3.medium", class)
	case storage < 20 || storage > 65536:
		return fmt.Errorf("input \"allocatedStorage\" must be between 20 and 65536 GiB, got %d", storage)
	case maxStorage != 0 && maxStorage < storage:
		return fmt.Errorf("input \"maxAllocatedStorage\" (%d) must be 0 or at least allocatedStorage (%d)", maxStorage, storage)
	case !versionRE.MatchString(version):
		return fmt.Errorf("input \"engineVersion\": %q is not a PostgreSQL version such as 16 or 16.4", version)
	case !dbNameRE.MatchString(dbName):
		return fmt.Errorf("input \"databaseName\": %q must start with a letter and have only letters, digits and underscores", dbName)
	case backups < 1 || backups > 35:
		return fmt.Errorf("input \"backupRetentionDays\" must be between 1 and 35, got %d", backups)
	case topic != "" && !strings.HasPrefix(topic, "arn:"):
		return fmt.Errorf("input \"alarmTopicArn\": %q is not an ARN", topic)
	}
	major := versionRE.FindStringSubmatch(version)[1]

	sngName := awskit.NameMax(c, "subnets", 255)
	sng, err := rds.NewSubnetGroup(ctx, sngName, &rds.SubnetGroupArgs{
		Name:        pulumi.String(sngName),
		Description: pulumi.String("database subnets of " + awskit.Name(c, "")),
		SubnetIds:   pulumi.ToStringArray(subnets),
		Tags:        awskit.NamedTags(c, sngName),
	})
	if err != nil {
		return err
	}

	pgName := awskit.NameMax(c, "postgres"+major, 255)
	pg, err := rds.NewParameterGroup(ctx, pgName, &rds.ParameterGroupArgs{
		Name:        pulumi.String(pgName),
		Family:      pulumi.String("postgres" + major),
		Description: pulumi.String("PostgreSQL " + major + " parameters of " + awskit.Name(c, "")),
		Parameters: rds.ParameterGroupParameterArray{
			// Clients must use TLS.
			rds.ParameterGroupParameterArgs{Name: pulumi.String("rds.force_ssl"), Value: pulumi.String("1")},
			rds.ParameterGroupParameterArgs{Name: pulumi.String("log_min_duration_statement"), Value: pulumi.String("1000")},
			rds.ParameterGroupParameterArgs{Name: pulumi.String("log_connections"), Value: pulumi.String("1")},
			rds.ParameterGroupParameterArgs{Name: pulumi.String("log_disconnections"), Value: pulumi.String("1")},
		},
		Tags: awskit.NamedTags(c, pgName),
	})
	if err != nil {
		return err
	}

	monitoring, err := newMonitoringRole(ctx, c)
	if err != nil {
		return err
	}

	// The credentials: from the secrets stack's secret, or (none given)
	// generated and kept by RDS itself.
	var username, password pulumi.StringInput
	if secretArn != "" {
		// Read synchronously, so a malformed secret fails the program with
		// a clear error before anything is registered.
		secret, err := secretsmanager.LookupSecretVersion(ctx, &secretsmanager.LookupSecretVersionArgs{SecretId: secretArn})
		if err != nil {
			return fmt.Errorf("input \"databaseMasterSecretArn\": read the secret: %w", err)
		}
		creds, err := parseCredentials(secret.SecretString)
		if err != nil {
			return err
		}
		username = pulumi.ToSecret(pulumi.String(creds.Username)).(pulumi.StringOutput)
		password = pulumi.ToSecret(pulumi.String(creds.Password)).(pulumi.StringOutput)
	} else {
		if !dbNameRE.MatchString(masterUser) { // the same rule as a database name
			return fmt.Errorf("input \"masterUsername\": %q is not a PostgreSQL user name (a letter, then up to 62 letters, digits or _)", masterUser)
		}
		username = pulumi.String(masterUser)
	}

	common := func(args *rds.InstanceArgs) *rds.InstanceArgs {
		args.InstanceClass = pulumi.String(class)
		args.StorageEncrypted = pulumi.Bool(true)
		args.KmsKeyId = pulumi.String(keyArn)
		args.VpcSecurityGroupIds = pulumi.StringArray{pulumi.String(sgID)}
		args.ParameterGroupName = pg.Name
		args.PubliclyAccessible = pulumi.Bool(false)
		args.PerformanceInsightsEnabled = pulumi.Bool(true)
		args.PerformanceInsightsKmsKeyId = pulumi.String(keyArn)
		args.PerformanceInsightsRetentionPeriod = pulumi.Int(7) // the free tier
		args.IamDatabaseAuthenticationEnabled = pulumi.Bool(true)
		args.MonitoringInterval = pulumi.Int(60)
		args.MonitoringRoleArn = monitoring.Arn
		args.AutoMinorVersionUpgrade = pulumi.Bool(true)
		args.EnabledCloudwatchLogsExports = pulumi.ToStringArray([]string{"postgresql", "upgrade"})
		args.CopyTagsToSnapshot = pulumi.Bool(true)
		args.DeletionProtection = pulumi.Bool(protect)
		args.StorageType = pulumi.String("gp3")
		return args
	}

	id := awskit.NameMax(c, "postgres", 63)
	primaryArgs := common(&rds.InstanceArgs{
		Identifier:              pulumi.String(id),
		Engine:                  pulumi.String("postgres"),
		EngineVersion:           pulumi.String(version),
		AllocatedStorage:        pulumi.Int(storage),
		DbName:                  pulumi.String(dbName),
		Username:                username,
		DbSubnetGroupName:       sng.Name,
		MultiAz:                 pulumi.Bool(multiAz),
		BackupRetentionPeriod:   pulumi.Int(backups),
		BackupWindow:            pulumi.String("03:00-04:00"),
		MaintenanceWindow:       pulumi.String("sun:04:30-sun:05:30"),
		SkipFinalSnapshot:       pulumi.Bool(false),
		FinalSnapshotIdentifier: pulumi.String(awskit.NameMax(c, "postgres-final", 255)),
		Tags:                    awskit.NamedTags(c, id),
	})
	if maxStorage > 0 {
		primaryArgs.MaxAllocatedStorage = pulumi.Int(maxStorage)
	}
	if password != nil {
		primaryArgs.Password = password
	} else {
		primaryArgs.ManageMasterUserPassword = pulumi.Bool(true)
		primaryArgs.MasterUserSecretKmsKeyId = pulumi.String(keyArn)
	}
	primary, err := rds.NewInstance(ctx, id, primaryArgs)
	if err != nil {
		return err
	}
	if err := newAlarms(ctx, c, "postgres", id, primary.Identifier, cpu, topic, false); err != nil {
		return err
	}

	replicaEndpoint := pulumi.String("").ToStringOutput()
	if replica {
		rid := awskit.NameMax(c, "postgres-replica", 63)
		r, err := rds.NewInstance(ctx, rid, common(&rds.InstanceArgs{
			Identifier:        pulumi.String(rid),
			ReplicateSourceDb: primary.Identifier,
			// Backups and the final snapshot belong to the primary.
			BackupRetentionPeriod: pulumi.Int(0),
			SkipFinalSnapshot:     pulumi.Bool(true),
			Tags:                  awskit.NamedTags(c, rid),
		}))
		if err != nil {
			return err
		}
		if err := newAlarms(ctx, c, "postgres-replica", rid, r.Identifier, cpu, topic, true); err != nil {
			return err
		}
		replicaEndpoint = r.Address
	}

	out.Export("endpoint", primary.Address)
	out.Export("port", primary.Port)
	out.Export("databaseName", pulumi.String(dbName))
	out.Export("replicaEndpoint", replicaEndpoint)
	return nil
}

func parseCredentials(s string) (credentials, error) {
	var cr credentials
	if err := json.Unmarshal([]byte(s), &cr); err != nil {
		return cr, fmt.Errorf("input \"databaseMasterSecretArn\": the secret is not JSON {username, password}: %w", err)
	}
	if cr.Username == "" || cr.Password == "" {
		return cr, fmt.Errorf("input \"databaseMasterSecretArn\": the secret lacks a username or password")
	}
	return cr, nil
}

// newMonitoringRole is the role RDS enhanced monitoring publishes OS
// metrics with; AWS documents its managed policy as the requirement.
func newMonitoringRole(ctx *pulumi.Context, c protocol.Context) (*iam.Role, error) {
	name := awskit.NameMax(c, "rds-monitoring", 64)
	trust, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "monitoring.rds.amazonaws.com"},
			"Action":    "sts:AssumeRole",
		}},
	})
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		Name:             pulumi.String(name),
		AssumeRolePolicy: pulumi.String(string(trust)),
		Tags:             awskit.NamedTags(c, name),
	})
	if err != nil {
		return nil, err
	}
	_, err = iam.NewRolePolicyAttachment(ctx, name+"-policy", &iam.RolePolicyAttachmentArgs{
		Role:      role.Name,
		PolicyArn: pulumi.String("arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"),
	})
	return role, err
}

// alarm is one CloudWatch alarm on an instance metric.
type alarm struct {
	purpose, metric, op, stat, desc string
	threshold                       float64
}

func newAlarms(ctx *pulumi.Context, c protocol.Context, purpose, name string, identifier pulumi.StringOutput, cpu float64, topic string, replica bool) error {
	alarms := []alarm{
		{"cpu-high", "CPUUtilization", "GreaterThanThreshold", "Average", "CPU above threshold for 15 minutes", cpu},
		{"storage-low", "FreeStorageSpace", "LessThanThreshold", "Minimum", "less than 2 GiB of storage free", 2 * 1024 * 1024 * 1024},
		{"memory-low", "FreeableMemory", "LessThanThreshold", "Minimum", "less than 256 MiB of memory free", 256 * 1024 * 1024},
	}
	if replica {
		alarms = append(alarms, alarm{"replica-lag", "ReplicaLag", "GreaterThanThreshold", "Maximum", "replica more than 5 minutes behind", 300})
	}
	var actions pulumi.Array
	if topic != "" {
		actions = pulumi.Array{pulumi.String(topic)}
	}
	for _, a := range alarms {
		alarmName := awskit.NameMax(c, purpose+"-"+a.purpose, 255)
		if _, err := cloudwatch.NewMetricAlarm(ctx, alarmName, &cloudwatch.MetricAlarmArgs{
			Name:               pulumi.String(alarmName),
			AlarmDescription:   pulumi.String(name + ": " + a.desc),
			Namespace:          pulumi.String("AWS/RDS"),
			MetricName:         pulumi.String(a.metric),
			Dimensions:         pulumi.StringMap{"DBInstanceIdentifier": identifier},
			Statistic:          pulumi.String(a.stat),
			Period:             pulumi.Int(300),
			EvaluationPeriods:  pulumi.Int(3),
			ComparisonOperator: pulumi.String(a.op),
			Threshold:          pulumi.Float64(a.threshold),
			TreatMissingData:   pulumi.String("breaching"),
			AlarmActions:       actions,
			OkActions:          actions,
			Tags:               awskit.NamedTags(c, alarmName),
		}); err != nil {
			return err
		}
	}
	return nil
}
