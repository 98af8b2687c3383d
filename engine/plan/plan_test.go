package plan_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/engine/graph"
	"github.com/cloudplatform/cloud/engine/manifest"
	"github.com/cloudplatform/cloud/engine/placeholder"
	"github.com/cloudplatform/cloud/engine/plan"
)

func load(t testing.TB, name string) *manifest.Manifest {
	t.Helper()
	file := "testdata/" + name
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(file, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuild(t *testing.T) {
	m := load(t, "shop.yaml")
	tests := []struct {
		env      string
		order    []string
		layers   map[string]int
		implicit map[string][]string
	}{
		{"dev",
			[]string{"network", "security", "database", "app"},
			map[string]int{"network": 0, "security": 1, "database": 2, "app": 3},
			map[string][]string{"database": {"security"}}},
		{"prod",
			[]string{"cache", "network", "security", "database", "app"},
			map[string]int{"cache": 0, "network": 0, "security": 1, "database": 2, "app": 3},
			map[string][]string{"database": {"security"}, "app": {"cache"}}},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			p, err := plan.Build(m, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := p.Environment.Name, tt.env; got != want {
				t.Errorf("Environment = %q, want %q", got, want)
			}
			if got, want := p.Graph.Order(), tt.order; !reflect.DeepEqual(got, want) {
				t.Errorf("Order = %v, want %v", got, want)
			}
			if got, want := p.Layers, tt.layers; !reflect.DeepEqual(got, want) {
				t.Errorf("Layers = %v, want %v", got, want)
			}
			if got, want := p.Implicit, tt.implicit; !reflect.DeepEqual(got, want) {
				t.Errorf("Implicit = %v, want %v", got, want)
			}
			if got, want := len(p.Config), len(tt.order); got != want {
				t.Errorf("len(Config) = %d, want %d", got, want)
			}
		})
	}
	p, _ := plan.Build(m, "prod")
	if got, want := p.Config["app"]["cache"], "{{cache.endpoint}}"; got != want {
		t.Errorf("prod app config cache = %v, want %v", got, want)
	}
}

func TestBuild_layerAtOrAboveImplied(t *testing.T) {
	for _, tc := range []struct{ file, env string }{{"layerok.yaml", "dev"}, {"layerimplicit.yaml", "dev"}} {
		p, err := plan.Build(load(t, tc.file), tc.env)
		if err != nil {
			t.Fatalf("%s in %s: %v", tc.file, tc.env, err)
		}
		if tc.file == "layerok.yaml" {
			if got, want := p.Layers, (map[string]int{"network": 0, "database": 1, "app": 2}); !reflect.DeepEqual(got, want) {
				t.Errorf("Layers = %v, want %v (a declared layer is informational)", got, want)
			}
		}
	}
}

func TestBuild_errors(t *testing.T) {
	tests := []struct {
		file, env, want string
	}{
		{"shop.yaml", "stag", `testdata/shop.yaml:4:1: environments: environment "stag" is not declared (declared: dev, prod)`},
		{"disabled.yaml", "dev", `testdata/disabled.yaml:14:20: stacks.app.dependencies[0]: stack "app" depends on "cache", which is disabled in dev
testdata/disabled.yaml:16:7: stacks.app.config.q: stack "app" depends on "queue" through ${queue.url}, which is disabled in dev`},
		{"cycle.yaml", "dev", `testdata/cycle.yaml:13:5: stacks.a.dependencies: dependency cycle: a -> b -> c -> a`},
		{"layer.yaml", "dev", `testdata/layer.yaml:11:5: stacks.app.layer: stack "app" declares layer 1, but it depends on "database", which is at layer 1, so "app" is at layer 2 (layers count from 0, the stacks without dependencies: set layer: 2 or leave it out)`},
		// An explicit layer 0 is a declaration too (roots are layer 0).
		{"layerzero.yaml", "dev", `testdata/layerzero.yaml:11:5: stacks.database.layer: stack "database" declares layer 0, but it depends on "network", which is at layer 0, so "database" is at layer 1 (layers count from 0, the stacks without dependencies: set layer: 1 or leave it out)`},
		// A dependency of one environment's config raises the layer there only.
		{"layerimplicit.yaml", "prod", `testdata/layerimplicit.yaml:10:5: stacks.app.layer: stack "app" declares layer 1, but it depends on "cache" through a placeholder, which is at layer 1, so "app" is at layer 2 (layers count from 0, the stacks without dependencies: set layer: 2 or leave it out)`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := plan.Build(load(t, tt.file), tt.env)
			if err == nil {
				t.Fatal("Build succeeded, want error")
			}
			if got, want := err.Error(), tt.want; got != want {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestBuild_cycleUnwraps(t *testing.T) {
	_, err := plan.Build(load(t, "cycle.yaml"), "dev")
	var ce *graph.CycleError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v does not wrap *graph.CycleError", err)
	}
	if got, want := ce.Path, []string{"a", "b", "c", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Path = %v, want %v", got, want)
	}
}

func TestBuild_programmatic(t *testing.T) {
	// Manifests built in code have no positions and may skip Validate.
	m := &manifest.Manifest{
		DeploymentID: "D1BRV40", Organization: "o", Project: "p",
		Environments: []*manifest.Environment{{Name: "dev", Enabled: true}},
		Stacks: []*manifest.Stack{
			{Name: "app", Program: "app", Enabled: true, Config: map[string]any{"x": "${netwrk.id}"}},
			{Name: "network", Program: "network", Enabled: true},
		},
	}
	_, err := plan.Build(m, "dev")
	want := `manifest: stacks.app.config.x: stack "app" depends on unknown stack "netwrk" through ${netwrk.id} (did you mean "network"?)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// synthetic returns the YAML of an n-stack manifest: a random DAG (fixed
// seed) where each stack depends on up to 3 earlier ones, each dependency
// referenced by a placeholder and half of them listed in `dependencies`.
func synthetic(n int) []byte {
	r := rand.New(rand.NewPCG(42, uint64(n)))
	var b strings.Builder
	b.WriteString("deployment_id: D1BRV40\norganization: acme\nproject: bench\nenvironments:\n  dev:\n    region: us-east-1\n    account_id: \"123456789012\"\nstacks:\n")
	for i := range n {
		fmt.Fprintf(&b, "  s%d:\n", i)
		var explicit []string
		fmt.Fprintf(&b, "    config:\n      name: ${deployment.id}-${env.name}-s%d\n      size: %d\n      tags: {team: t%d, region: \"${env.region}\"}\n", i, i%7, i%5)
		if i > 0 {
			for _, j := range r.Perm(i)[:min(i, r.IntN(4))] {
				fmt.Fprintf(&b, "      in%d: ${s%d.out}\n", j, j)
				if r.IntN(2) == 0 {
					explicit = append(explicit, fmt.Sprintf("s%d", j))
				}
			}
		}
		if len(explicit) > 0 {
			fmt.Fprintf(&b, "    dependencies: [%s]\n", strings.Join(explicit, ", "))
		}
	}
	return []byte(b.String())
}

func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		data := synthetic(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				m, err := manifest.Parse("bench.yaml", data)
				if err != nil {
					b.Fatal(err)
				}
				p, err := plan.Build(m, "dev")
				if err != nil {
					b.Fatal(err)
				}
				c := &placeholder.Context{
					DeploymentID: m.DeploymentID, EnvName: "dev", Region: p.Environment.Region, AccountID: p.Environment.AccountID,
					Output: func(stack, name string) (placeholder.Value, bool) {
						return placeholder.Value{Value: stack + "-" + name}, true
					},
				}
				for _, s := range p.Graph.Order() {
					if _, _, _, err := placeholder.Resolve(p.Config[s], c); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
