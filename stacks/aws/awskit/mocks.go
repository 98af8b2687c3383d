package awskit

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// StateFunc adds to the state a mocked resource reports what AWS would
// compute for it (an endpoint, a DNS name), given its inputs.
type StateFunc func(m Mocks, args pulumi.MockResourceArgs, state resource.PropertyMap)

// CallFunc answers one provider function under mocks.
type CallFunc func(m Mocks, args pulumi.MockCallArgs) (resource.PropertyMap, error)

// Mocks answer for AWS under Pulumi's unit-test mocks, realistically enough
// that a library stack runs to its exports: resources echo their inputs and
// get an ID and an ARN, plus the computed attributes in States; provider
// functions (availability zones, caller identity, region, partition) answer
// from Calls. It is what `cloud validate-stack` runs the library's programs
// with, and what their unit tests record resources through.
type Mocks struct {
	Region    string // default us-east-1
	AccountID string // default 123456789012
	// States and Calls extend or override the defaults, by type token.
	States map[string]StateFunc
	Calls  map[string]CallFunc
}

func (m Mocks) region() string {
	if m.Region == "" {
		return "us-east-1"
	}
	return m.Region
}

func (m Mocks) account() string {
	if m.AccountID == "" {
		return "123456789012"
	}
	return m.AccountID
}

// NewResource implements pulumi.MockResourceMonitor.
func (m Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	state := resource.PropertyMap{}
	for k, v := range args.Inputs {
		state[k] = v
	}
	id := args.Name + "-id"
	if args.ID != "" {
		id = args.ID
	}
	if _, ok := state["arn"]; !ok {
		state["arn"] = resource.NewStringProperty(m.ARN(args.TypeToken, args.Name))
	}
	state["id"] = resource.NewStringProperty(id)
	fn, ok := m.States[args.TypeToken]
	if !ok {
		fn = defaultStates[args.TypeToken]
	}
	if fn != nil {
		fn(m, args, state)
	}
	// A state function may give the resource the ID AWS would (a Cognito
	// pool's is region_random); the resource's ID is that one.
	if v, ok := state["id"]; ok && v.IsString() {
		id = v.StringValue()
	}
	return id, state, nil
}

// Call implements pulumi.MockResourceMonitor.
func (m Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	fn, ok := m.Calls[args.Token]
	if !ok {
		fn = defaultCalls[args.Token]
	}
	if fn == nil {
		return args.Args, nil
	}
	return fn(m, args)
}

// ARN is the mocked ARN of a resource of type token named name.
func (m Mocks) ARN(token, name string) string {
	service := "aws"
	if parts := strings.Split(token, ":"); len(parts) == 3 {
		service, _, _ = strings.Cut(parts[1], "/")
	}
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, m.region(), m.account(), name)
}

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }

func strs(ss ...string) resource.PropertyValue {
	vs := make([]resource.PropertyValue, len(ss))
	for i, s := range ss {
		vs[i] = str(s)
	}
	return resource.NewArrayProperty(vs)
}

// setDefault sets key unless the inputs already did.
func setDefault(state resource.PropertyMap, key string, v resource.PropertyValue) {
	if _, ok := state[resource.PropertyKey(key)]; !ok {
		state[resource.PropertyKey(key)] = v
	}
}

var defaultStates = map[string]StateFunc{
	"aws:lb/loadBalancer:LoadBalancer": func(m Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
		setDefault(s, "dnsName", str(a.Name+"-1234567890."+m.region()+".elb.amazonaws.com"))
		setDefault(s, "zoneId", str("Z35SXDOTRQ7X7K"))
	},
	"aws:rds/instance:Instance": func(m Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
		host := a.Name + ".abcdefghijkl." + m.region() + ".rds.amazonaws.com"
		setDefault(s, "address", str(host))
		setDefault(s, "endpoint", str(host+":5432"))
		setDefault(s, "port", resource.NewNumberProperty(5432))
	},
	"aws:route53/zone:Zone": func(m Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
		setDefault(s, "zoneId", str("Z0123456789ABCDEFGHIJ"))
		setDefault(s, "nameServers", strs("ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk", "ns-3.awsdns-03.com", "ns-4.awsdns-04.net"))
	},
	"aws:acm/certificate:Certificate": func(m Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
		domain := "example.com"
		if d, ok := a.Inputs["domainName"]; ok && d.IsString() {
			domain = d.StringValue()
		}
		setDefault(s, "domainValidationOptions", resource.NewArrayProperty([]resource.PropertyValue{
			resource.NewObjectProperty(resource.PropertyMap{
				"domainName":          str(domain),
				"resourceRecordName":  str("_x1." + strings.TrimPrefix(domain, "*.")),
				"resourceRecordType":  str("CNAME"),
				"resourceRecordValue": str("_x2.acm-validations.aws."),
			}),
		}))
	},
	"aws:ecr/repository:Repository": func(m Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
		name := a.Name
		if n, ok := a.Inputs["name"]; ok && n.IsString() {
			name = n.StringValue()
		}
		setDefault(s, "repositoryUrl", str(m.account()+".dkr.ecr."+m.region()+".amazonaws.com/"+name))
		setDefault(s, "registryId", str(m.account()))
	},
	"aws:eks/cluster:Cluster": func(m Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
		setDefault(s, "endpoint", str("https://ABCDEF0123456789."+"gr7."+m.region()+".eks.amazonaws.com"))
		setDefault(s, "certificateAuthority", resource.NewObjectProperty(resource.PropertyMap{"data": str("LS0tLS1CRUdJTi1DRVJUSUZJQ0FURS0tLS0t")}))
		setDefault(s, "identities", resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{
			"oidcs": resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{
				"issuer": str("https://oidc.eks." + m.region() + ".amazonaws.com/id/ABCDEF0123456789"),
			})}),
		})}))
	},
	"aws:cognito/userPool:UserPool": func(m Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
		id := m.region() + "_AbCdEfGhI"
		s["id"] = str(id)
		setDefault(s, "endpoint", str("cognito-idp."+m.region()+".amazonaws.com/"+id))
	},
	"aws:apigatewayv2/api:Api": func(m Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
		setDefault(s, "apiEndpoint", str("https://a1b2c3d4e5.execute-api."+m.region()+".amazonaws.com"))
	},
	"aws:sqs/queue:Queue": func(m Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
		setDefault(s, "url", str("https://sqs."+m.region()+".amazonaws.com/"+m.account()+"/"+a.Name))
	},
	"aws:ecs/cluster:Cluster": func(m Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
		name := a.Name
		if n, ok := a.Inputs["name"]; ok && n.IsString() {
			name = n.StringValue()
		}
		setDefault(s, "name", str(name))
	},
	"aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": func(m Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
		setDefault(s, "registryId", str(m.account()))
	},
}

var defaultCalls = map[string]CallFunc{
	"aws:index/getAvailabilityZones:getAvailabilityZones": func(m Mocks, a pulumi.MockCallArgs) (resource.PropertyMap, error) {
		r := m.region()
		return resource.PropertyMap{
			"names":   strs(r+"a", r+"b", r+"c"),
			"zoneIds": strs("use1-az1", "use1-az2", "use1-az4"),
			"id":      str(r),
		}, nil
	},
	"aws:index/getCallerIdentity:getCallerIdentity": func(m Mocks, a pulumi.MockCallArgs) (resource.PropertyMap, error) {
		return resource.PropertyMap{
			"accountId": str(m.account()),
			"arn":       str("arn:aws:iam::" + m.account() + ":user/validate"),
			"userId":    str("AIDAEXAMPLE"),
			"id":        str(m.account()),
		}, nil
	},
	"aws:index/getRegion:getRegion": func(m Mocks, a pulumi.MockCallArgs) (resource.PropertyMap, error) {
		return resource.PropertyMap{"name": str(m.region()), "id": str(m.region()), "endpoint": str("ec2." + m.region() + ".amazonaws.com")}, nil
	},
	"aws:index/getPartition:getPartition": func(m Mocks, a pulumi.MockCallArgs) (resource.PropertyMap, error) {
		return resource.PropertyMap{"partition": str("aws"), "dnsSuffix": str("amazonaws.com"), "id": str("aws")}, nil
	},
}
