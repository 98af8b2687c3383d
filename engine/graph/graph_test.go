package graph_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/cloudplatform/cloud/engine/graph"
)

// diamond: app and api depend on network; web depends on app and api;
// monitoring stands alone.
func diamond(t testing.TB) *graph.Graph {
	t.Helper()
	g, err := graph.New(map[string][]string{
		"network":    nil,
		"app":        {"network"},
		"api":        {"network", "network"},
		"web":        {"app", "api"},
		"monitoring": {},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGraph_queries(t *testing.T) {
	g := diamond(t)
	tests := []struct {
		name      string
		got, want any
	}{
		{"Nodes", g.Nodes(), []string{"api", "app", "monitoring", "network", "web"}},
		{"Dependencies", g.Dependencies("web"), []string{"api", "app"}},
		{"Dependencies dedup", g.Dependencies("api"), []string{"network"}},
		{"Dependencies unknown", g.Dependencies("nope"), []string(nil)},
		{"Dependents", g.Dependents("network"), []string{"api", "app"}},
		{"Layers", g.Layers(), map[string]int{"network": 0, "monitoring": 0, "app": 1, "api": 1, "web": 2}},
		{"LayerList", g.LayerList(), [][]string{{"monitoring", "network"}, {"api", "app"}, {"web"}}},
		{"Order", g.Order(), []string{"monitoring", "network", "api", "app", "web"}},
		{"Descendants", g.Descendants("network"), []string{"api", "app", "web"}},
		{"Descendants many", g.Descendants("app", "web", "x"), []string{}},
		{"Ancestors", g.Ancestors("web"), []string{"api", "app", "network"}},
		{"Ancestors excludes inputs", g.Ancestors("web", "app"), []string{"api", "network"}},
		{"Reverse Order", g.Reverse().Order(), []string{"monitoring", "web", "api", "app", "network"}},
		{"Reverse Dependencies", g.Reverse().Dependencies("network"), []string{"api", "app"}},
		{"Subgraph", g.Subgraph([]string{"web", "app", "network"}).Dependencies("web"), []string{"app"}},
		{"Subgraph Nodes", g.Subgraph([]string{"web", "app", "zzz"}).Nodes(), []string{"app", "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := tt.got, tt.want; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestNew_errors(t *testing.T) {
	tests := []struct {
		name string
		deps map[string][]string
		want string
		path []string
	}{
		{"unknown", map[string][]string{"app": {"netwrk"}}, `"app" depends on unknown node "netwrk"`, nil},
		{"self", map[string][]string{"a": {"a"}}, "dependency cycle: a -> a", []string{"a", "a"}},
		{"three", map[string][]string{"c": {"a"}, "b": {"c"}, "a": {"b"}, "d": {"a"}},
			"dependency cycle: a -> b -> c -> a", []string{"a", "b", "c", "a"}},
		{"starts at smallest", map[string][]string{"z": {"y"}, "y": {"m"}, "m": {"z"}, "a": {"z"}},
			"dependency cycle: m -> z -> y -> m", []string{"m", "z", "y", "m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := graph.New(tt.deps)
			if err == nil {
				t.Fatal("New succeeded, want error")
			}
			if got, want := err.Error(), tt.want; got != want {
				t.Errorf("error = %q, want %q", got, want)
			}
			var ce *graph.CycleError
			if errors.As(err, &ce) {
				if got, want := ce.Path, tt.path; !reflect.DeepEqual(got, want) {
					t.Errorf("Path = %v, want %v", got, want)
				}
			} else if tt.path != nil {
				t.Errorf("error %T, want *CycleError", err)
			}
		})
	}
}

func TestGraph_CriticalPath(t *testing.T) {
	g := diamond(t)
	cost := map[string]float64{"network": 5, "app": 10, "api": 3, "web": 1, "monitoring": 15}
	length, path := g.CriticalPath(func(n string) float64 { return cost[n] })
	if got, want := length, 16.0; got != want {
		t.Errorf("length = %v, want %v", got, want)
	}
	if got, want := path, []string{"network", "app", "web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("path = %v, want %v", got, want)
	}
	var empty graph.Graph
	if l, p := empty.CriticalPath(func(string) float64 { return 1 }); l != 0 || p != nil {
		t.Errorf("empty graph: %v %v", l, p)
	}
}

// chain builds n nodes where each depends on the previous one and on up to
// two random earlier nodes: deep enough to break a recursive search.
func chain(n int) map[string][]string {
	r := rand.New(rand.NewPCG(1, 2))
	deps := make(map[string][]string, n)
	for i := range n {
		var ds []string
		if i > 0 {
			ds = append(ds, fmt.Sprintf("n%d", i-1))
			for range 2 {
				ds = append(ds, fmt.Sprintf("n%d", r.IntN(i)))
			}
		}
		deps[fmt.Sprintf("n%d", i)] = ds
	}
	return deps
}

func TestNew_large(t *testing.T) {
	deps := chain(5000)
	g, err := graph.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.Layers()["n4999"], 4999; got != want {
		t.Errorf("layer = %d, want %d", got, want)
	}
	pos := map[string]int{}
	for i, n := range g.Order() {
		pos[n] = i
	}
	for n, ds := range deps {
		for _, d := range ds {
			if pos[d] >= pos[n] {
				t.Fatalf("%s ordered before its dependency %s", n, d)
			}
		}
	}
	deps["n0"] = []string{"n4999"}
	_, err = graph.New(deps)
	var ce *graph.CycleError
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want cycle", err)
	}
	if got, want := ce.Path[0], ce.Path[len(ce.Path)-1]; got != want || got != "n0" {
		t.Errorf("cycle %v does not start and end at n0", ce.Path[:3])
	}
}

func BenchmarkNew(b *testing.B) {
	deps := chain(5000)
	for b.Loop() {
		g, err := graph.New(deps)
		if err != nil {
			b.Fatal(err)
		}
		g.Descendants("n0")
		g.CriticalPath(func(string) float64 { return 1 })
	}
}
