// Package awskit holds what every stack of the AWS library shares: the
// naming rule <deploymentId>-<stack>-<environment>-<purpose> fitted to AWS
// name-length limits, the standard tags, and small helpers for the inputs
// the library uses the same way everywhere.
package awskit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Name is the library's name of a resource: <deploymentId>-<stack>-
// <environment>-<purpose>, lower case.
func Name(c protocol.Context, purpose string) string {
	parts := []string{c.DeploymentID, c.Stack, c.Environment}
	if purpose != "" {
		parts = append(parts, purpose)
	}
	return strings.ToLower(strings.Join(nonEmpty(parts), "-"))
}

// NameMax is Name fitted into max characters, for resources whose names AWS
// limits (32 for load balancers and target groups, 63 for buckets, 64 for
// IAM roles). A name that is too long keeps its start and ends with a hash
// of the whole name, so two long names stay distinct and the same inputs
// always give the same name.
func NameMax(c protocol.Context, purpose string, max int) string {
	return Fit(Name(c, purpose), max)
}

// Fit shortens name to at most max characters the way NameMax does.
func Fit(name string, max int) string {
	if len(name) <= max {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := hex.EncodeToString(sum[:])[:7]
	keep := max - len(suffix) - 1
	if keep < 1 {
		return suffix[:max]
	}
	return strings.TrimRight(name[:keep], "-") + "-" + suffix
}

// Tags are the standard tags of every resource, with extra merged over
// them.
func Tags(c protocol.Context, extra map[string]string) pulumi.StringMap {
	tags := pulumi.StringMap{
		"deployment":   pulumi.String(c.DeploymentID),
		"stack":        pulumi.String(c.Stack),
		"environment":  pulumi.String(c.Environment),
		"organization": pulumi.String(c.Organization),
		"project":      pulumi.String(c.Project),
		"managed-by":   pulumi.String("cloud"),
	}
	for k, v := range extra {
		tags[k] = pulumi.String(v)
	}
	return tags
}

// NamedTags are Tags plus the "Name" tag the AWS console shows.
func NamedTags(c protocol.Context, name string) pulumi.StringMap {
	return Tags(c, map[string]string{"Name": name})
}

func nonEmpty(parts []string) []string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Entries reads an input that is an object of named entries (services,
// functions): the names sorted, so resources are declared in a stable
// order, and the object itself. what names an entry in errors ("service").
func Entries(input string, v any, what string) ([]string, map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("input %q: want an object of %ss by name, got %T", input, what, v)
	}
	if len(m) == 0 {
		return nil, nil, fmt.Errorf("input %q defines no %s", input, what)
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, m, nil
}
