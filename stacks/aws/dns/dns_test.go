package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/stacks/aws/awstest"
)

const (
	typeZone       = "aws:route53/zone:Zone"
	typeRecord     = "aws:route53/record:Record"
	typeCert       = "aws:acm/certificate:Certificate"
	typeValidation = "aws:acm/certificateValidation:CertificateValidation"
)

func TestDNS_DefaultsToDeploymentDomain(t *testing.T) {
	r := awstest.Run(t, Stack, nil)
	r.AssertOutputs(t)
	r.AssertNamesAndTags(t)

	z := r.One(t, typeZone, "-zone")
	if z.Inputs["name"] != "example.com" {
		t.Errorf("zone name = %v, want the deployment's domain", z.Inputs["name"])
	}
	if r.Values["domainName"] != "example.com" || r.Values["hostedZoneId"] != "Z0123456789ABCDEFGHIJ" {
		t.Errorf("outputs = %v", r.Values)
	}
	if ns, _ := r.Values["nameServers"].([]string); len(ns) != 4 {
		t.Errorf("nameServers = %v", r.Values["nameServers"])
	}

	apex := r.One(t, typeCert, "-dev-cert")
	wild := r.One(t, typeCert, "-wildcard-cert")
	if apex.Inputs["domainName"] != "example.com" || wild.Inputs["domainName"] != "*.example.com" {
		t.Errorf("certificate domains = %v, %v", apex.Inputs["domainName"], wild.Inputs["domainName"])
	}
	for _, c := range []awstest.Resource{apex, wild} {
		if c.Inputs["validationMethod"] != "DNS" {
			t.Errorf("%s validation = %v", c.Name, c.Inputs["validationMethod"])
		}
	}

	rec := r.One(t, typeRecord, "-cert-validation")
	if rec.Inputs["zoneId"] != "Z0123456789ABCDEFGHIJ" || rec.Inputs["name"] != "_x1.example.com" || rec.Inputs["type"] != "CNAME" ||
		!reflect.DeepEqual(rec.Inputs["records"], []any{"_x2.acm-validations.aws."}) {
		t.Errorf("validation record = %v", rec.Inputs)
	}
	if got := len(r.OfType(typeValidation)); got != 2 {
		t.Fatalf("certificate validations = %d, want 2", got)
	}
	for _, suffix := range []string{"-cert-validation", "-wildcard-cert-validation"} {
		v := r.One(t, typeValidation, "-dev"+suffix)
		if !reflect.DeepEqual(v.Inputs["validationRecordFqdns"], []any{"_x1.example.com"}) {
			t.Errorf("%s fqdns = %v", suffix, v.Inputs["validationRecordFqdns"])
		}
	}
	if a, _ := r.Values["certificateArn"].(string); !strings.HasSuffix(a, "d1a2b3c4-dns-dev-cert") {
		t.Errorf("certificateArn = %v", r.Values["certificateArn"])
	}
	if a, _ := r.Values["wildcardCertificateArn"].(string); !strings.HasSuffix(a, "d1a2b3c4-dns-dev-wildcard-cert") {
		t.Errorf("wildcardCertificateArn = %v", r.Values["wildcardCertificateArn"])
	}
}

func TestDNS_ExplicitDomain(t *testing.T) {
	r := awstest.Run(t, Stack, map[string]any{"domain": "App.Example.ORG."})
	if z := r.One(t, typeZone, "-zone"); z.Inputs["name"] != "app.example.org" {
		t.Errorf("zone name = %v", z.Inputs["name"])
	}
	if c := r.One(t, typeCert, "-wildcard-cert"); c.Inputs["domainName"] != "*.app.example.org" {
		t.Errorf("wildcard domain = %v", c.Inputs["domainName"])
	}
	if r.Values["domainName"] != "app.example.org" {
		t.Errorf("domainName = %v", r.Values["domainName"])
	}
}

func TestDNS_ExistingZone(t *testing.T) {
	r := awstest.Run(t, Stack, map[string]any{"createZone": false})
	r.AssertOutputs(t)
	if n := len(r.OfType(typeZone)); n != 0 {
		t.Errorf("createZone=false created %d zones", n)
	}
	if r.Values["hostedZoneId"] != "Z9876543210ZYXWVUTSRQ" {
		t.Errorf("hostedZoneId = %v, want the looked-up zone", r.Values["hostedZoneId"])
	}
	if rec := r.One(t, typeRecord, "-cert-validation"); rec.Inputs["zoneId"] != "Z9876543210ZYXWVUTSRQ" {
		t.Errorf("validation record in zone %v", rec.Inputs["zoneId"])
	}
	if ns, _ := r.Values["nameServers"].([]string); len(ns) != 2 {
		t.Errorf("nameServers = %v", r.Values["nameServers"])
	}
}

func TestDNS_BadDomain(t *testing.T) {
	for _, d := range []string{"https://example.com", "not a domain", "localhost", "exa_mple.com"} {
		r := awstest.RunErr(t, Stack, map[string]any{"domain": d})
		if !strings.Contains(r.Validation.Error, `"domain"`) {
			t.Errorf("domain %q: error %q does not name the input", d, r.Validation.Error)
		}
	}
}

func TestDNS_Validate(t *testing.T) {
	awstest.AssertValidates(t, Stack)
}
