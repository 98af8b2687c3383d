package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Stack is the dns stack.
var Stack = kit.Stack{
	Template: protocol.Template{
		Name:        "dns",
		Description: "Route53 hosted zone for the deployment's domain; ACM certificates (apex and wildcard) with DNS validation records",
		Inputs: map[string]protocol.Input{
			"domain":     {Type: protocol.TypeString, Default: "", Description: "domain of the zone and certificates; empty (the default) means the deployment's domain"},
			"createZone": {Type: protocol.TypeBoolean, Default: true, Description: "create the public hosted zone; false looks up an existing public zone of the domain"},
		},
		Outputs: map[string]protocol.Output{
			"hostedZoneId":           {Type: protocol.TypeString, Description: "ID of the public hosted zone"},
			"domainName":             {Type: protocol.TypeString, Description: "the domain the zone and certificates are for"},
			"nameServers":            {Type: protocol.TypeArray, Description: "name servers of the zone, to delegate the domain to"},
			"certificateArn":         {Type: protocol.TypeString, Description: "ARN of the validated ACM certificate for the apex domain"},
			"wildcardCertificateArn": {Type: protocol.TypeString, Description: "ARN of the validated ACM certificate for *.<domain>"},
		},
	},
	Mocks: awskit.Mocks{States: map[string]awskit.StateFunc{
		"aws:route53/record:Record": func(m awskit.Mocks, a pulumi.MockResourceArgs, s resource.PropertyMap) {
			if n, ok := a.Inputs["name"]; ok && n.IsString() {
				s["fqdn"] = resource.NewStringProperty(strings.TrimSuffix(n.StringValue(), "."))
			}
		},
	}, Calls: map[string]awskit.CallFunc{
		// awskit does not answer zone look-ups (createZone=false).
		"aws:route53/getZone:getZone": func(m awskit.Mocks, a pulumi.MockCallArgs) (resource.PropertyMap, error) {
			name := "example.com"
			if n, ok := a.Args["name"]; ok && n.IsString() {
				name = n.StringValue()
			}
			ns := []resource.PropertyValue{}
			for _, s := range []string{"ns-11.awsdns-11.org", "ns-22.awsdns-22.net"} {
				ns = append(ns, resource.NewStringProperty(s))
			}
			return resource.PropertyMap{
				"id":          resource.NewStringProperty("Z9876543210ZYXWVUTSRQ"),
				"zoneId":      resource.NewStringProperty("Z9876543210ZYXWVUTSRQ"),
				"name":        resource.NewStringProperty(name),
				"nameServers": resource.NewArrayProperty(ns),
				"arn":         resource.NewStringProperty("arn:aws:route53:::hostedzone/Z9876543210ZYXWVUTSRQ"),
			}, nil
		},
	}},
	Program: program,
}

var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$`)

func program(ctx *pulumi.Context, in *kit.Inputs, out *kit.Outputs) error {
	c := in.Context()
	domain := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(in.String("domain"))), ".")
	create := in.Bool("createZone")
	if err := in.Err(); err != nil {
		return err
	}
	if domain == "" {
		domain = strings.TrimSuffix(strings.ToLower(c.Domain), ".")
	}
	if domain == "" {
		return fmt.Errorf("input \"domain\" is empty and the deployment has no domain")
	}
	if !domainRE.MatchString(domain) {
		return fmt.Errorf("input \"domain\": %q is not a domain name such as example.com", domain)
	}

	var zoneID pulumi.StringOutput
	var nameServers pulumi.StringArrayOutput
	if create {
		name := awskit.Name(c, "zone")
		z, err := route53.NewZone(ctx, name, &route53.ZoneArgs{
			Name:    pulumi.String(domain),
			Comment: pulumi.String("managed by cloud: " + awskit.Name(c, "")),
			Tags:    awskit.NamedTags(c, name),
		})
		if err != nil {
			return err
		}
		zoneID, nameServers = z.ZoneId, z.NameServers
	} else {
		z, err := route53.LookupZone(ctx, &route53.LookupZoneArgs{Name: pulumi.StringRef(domain), PrivateZone: pulumi.BoolRef(false)})
		if err != nil {
			return fmt.Errorf("look up the hosted zone of %s (createZone is false): %w", domain, err)
		}
		zoneID = pulumi.String(z.ZoneId).ToStringOutput()
		nameServers = pulumi.ToStringArray(z.NameServers).ToStringArrayOutput()
	}

	apex, err := newCertificate(ctx, c, "cert", domain)
	if err != nil {
		return err
	}
	wildcard, err := newCertificate(ctx, c, "wildcard-cert", "*."+domain)
	if err != nil {
		return err
	}

	// ACM gives a domain and its wildcard the same validation CNAME, so one
	// record validates both; two records would fight over one name.
	dvo := apex.DomainValidationOptions.Index(pulumi.Int(0))
	recName := awskit.Name(c, "cert-validation")
	rec, err := route53.NewRecord(ctx, recName, &route53.RecordArgs{
		ZoneId:         zoneID,
		Name:           dvo.ResourceRecordName().Elem(),
		Type:           dvo.ResourceRecordType().Elem(),
		Records:        pulumi.StringArray{dvo.ResourceRecordValue().Elem()},
		Ttl:            pulumi.Int(300),
		AllowOverwrite: pulumi.Bool(true),
	})
	if err != nil {
		return err
	}
	validated := map[string]pulumi.StringOutput{}
	for purpose, cert := range map[string]*acm.Certificate{"cert": apex, "wildcard-cert": wildcard} {
		v, err := acm.NewCertificateValidation(ctx, awskit.Name(c, purpose+"-validation"), &acm.CertificateValidationArgs{
			CertificateArn:        cert.Arn,
			ValidationRecordFqdns: pulumi.StringArray{rec.Fqdn},
		})
		if err != nil {
			return err
		}
		validated[purpose] = v.CertificateArn
	}

	out.Export("hostedZoneId", zoneID)
	out.Export("domainName", pulumi.String(domain))
	out.Export("nameServers", nameServers)
	// The validations' ARNs, so a consumer waits until the certificate is
	// issued before attaching it to a listener.
	out.Export("certificateArn", validated["cert"])
	out.Export("wildcardCertificateArn", validated["wildcard-cert"])
	return nil
}

func newCertificate(ctx *pulumi.Context, c protocol.Context, purpose, domain string) (*acm.Certificate, error) {
	name := awskit.Name(c, purpose)
	return acm.NewCertificate(ctx, name, &acm.CertificateArgs{
		DomainName:       pulumi.String(domain),
		ValidationMethod: pulumi.String("DNS"),
		KeyAlgorithm:     pulumi.String("RSA_2048"),
		Tags:             awskit.NamedTags(c, name),
	})
}
