// Package graph is the dependency graph of a deployment's stacks: ordering,
// layers, reachability and the critical path.
//
// Edges point from a node to its dependencies: "a -> b" means a depends on
// b, so b must finish before a starts. Nodes are indexed internally so that
// every query is linear in the size of the graph.
package graph

import (
	"container/heap"
	"fmt"
	"slices"
	"strings"
)

// UnknownError reports a dependency on a node that is not in the graph.
type UnknownError struct {
	Node, Dep string
}

// Error names the node and the missing dependency.
func (e *UnknownError) Error() string {
	return fmt.Sprintf("%q depends on unknown node %q", e.Node, e.Dep)
}

// CycleError reports a dependency cycle. Path starts and ends with the same
// node, the lexicographically smallest of the cycle, and follows dependency
// edges: a -> b means a depends on b.
type CycleError struct {
	Path []string
}

// Error formats the cycle as "dependency cycle: a -> b -> a".
func (e *CycleError) Error() string {
	return "dependency cycle: " + strings.Join(e.Path, " -> ")
}

// Graph is an immutable directed acyclic graph. The zero value is an empty
// graph.
type Graph struct {
	names []string       // sorted
	index map[string]int // name -> position in names
	deps  [][]int        // sorted ascending, so by name too
	rdeps [][]int        // dependents, sorted ascending
	order []int          // topological order, dependencies first
	layer []int
}

// New builds a graph whose nodes are the keys of deps and whose edges go
// from each key to the nodes it lists. Duplicate dependencies are ignored.
//
// It returns *UnknownError when a listed dependency is not a key, and
// *CycleError when the dependencies form a cycle (a self-dependency is a
// cycle of one).
func New(deps map[string][]string) (*Graph, error) {
	names := make([]string, 0, len(deps))
	for n := range deps {
		names = append(names, n)
	}
	slices.Sort(names)
	g := &Graph{names: names, index: make(map[string]int, len(names))}
	for i, n := range names {
		g.index[n] = i
	}
	edges := make([][]int, len(names))
	for i, n := range names {
		for _, d := range deps[n] {
			j, ok := g.index[d]
			if !ok {
				return nil, &UnknownError{Node: n, Dep: d}
			}
			edges[i] = append(edges[i], j)
		}
	}
	if err := g.init(edges); err != nil {
		return nil, err
	}
	return g, nil
}

// init sets the edges and derives the order and layers. edges may hold
// duplicates and be unsorted.
func (g *Graph) init(edges [][]int) error {
	g.deps = edges
	g.rdeps = make([][]int, len(g.names))
	for i, ds := range g.deps {
		slices.Sort(ds)
		g.deps[i] = slices.Compact(ds)
		for _, d := range g.deps[i] {
			g.rdeps[d] = append(g.rdeps[d], i)
		}
	}
	// rdeps come out sorted because i ascends.
	if path := g.findCycle(); path != nil {
		return &CycleError{Path: path}
	}
	g.order = g.kahn()
	g.layer = make([]int, len(g.names))
	for _, n := range g.order {
		for _, d := range g.deps[n] {
			g.layer[n] = max(g.layer[n], g.layer[d]+1)
		}
	}
	return nil
}

// findCycle runs an iterative depth-first search (stacks of 5,000 stacks
// must not overflow anything) and returns the first cycle found, rotated to
// start at its smallest node, or nil.
func (g *Graph) findCycle() []string {
	const (
		white = iota
		grey
		black
	)
	color := make([]int8, len(g.names))
	type frame struct{ node, next int }
	var stack []frame
	for root := range g.names {
		if color[root] != white {
			continue
		}
		stack = append(stack[:0], frame{root, 0})
		color[root] = grey
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(g.deps[top.node]) {
				color[top.node] = black
				stack = stack[:len(stack)-1]
				continue
			}
			d := g.deps[top.node][top.next]
			top.next++
			switch color[d] {
			case white:
				color[d] = grey
				stack = append(stack, frame{d, 0})
			case grey:
				start := len(stack) - 1
				for stack[start].node != d {
					start--
				}
				cycle := make([]int, 0, len(stack)-start)
				for _, f := range stack[start:] {
					cycle = append(cycle, f.node)
				}
				// Indexes follow names, so the smallest index is the smallest name.
				m := slices.Index(cycle, slices.Min(cycle))
				cycle = append(cycle[m:], cycle[:m]...)
				path := g.namesOf(cycle)
				return append(path, path[0])
			}
		}
	}
	return nil
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// kahn returns a topological order; among ready nodes the smallest name goes
// first so that the order is the same on every run.
func (g *Graph) kahn() []int {
	pending := make([]int, len(g.names))
	ready := &intHeap{}
	for i, ds := range g.deps {
		pending[i] = len(ds)
		if len(ds) == 0 {
			*ready = append(*ready, i)
		}
	}
	heap.Init(ready)
	order := make([]int, 0, len(g.names))
	for ready.Len() > 0 {
		n := heap.Pop(ready).(int)
		order = append(order, n)
		for _, r := range g.rdeps[n] {
			if pending[r]--; pending[r] == 0 {
				heap.Push(ready, r)
			}
		}
	}
	return order
}

func (g *Graph) namesOf(idx []int) []string {
	out := make([]string, len(idx))
	for i, n := range idx {
		out[i] = g.names[n]
	}
	return out
}

// Nodes returns every node, sorted.
func (g *Graph) Nodes() []string { return slices.Clone(g.names) }

// Has reports whether n is a node of the graph.
func (g *Graph) Has(n string) bool {
	_, ok := g.index[n]
	return ok
}

// Dependencies returns the direct dependencies of n, sorted; nil if n is
// not a node.
func (g *Graph) Dependencies(n string) []string {
	i, ok := g.index[n]
	if !ok {
		return nil
	}
	return g.namesOf(g.deps[i])
}

// Dependents returns the nodes that depend directly on n, sorted; nil if n
// is not a node.
func (g *Graph) Dependents(n string) []string {
	i, ok := g.index[n]
	if !ok {
		return nil
	}
	return g.namesOf(g.rdeps[i])
}

// Layers maps every node to the length of the longest path from it down to
// a node without dependencies; those roots are layer 0.
func (g *Graph) Layers() map[string]int {
	out := make(map[string]int, len(g.names))
	for i, n := range g.names {
		out[n] = g.layer[i]
	}
	return out
}

// LayerList groups the nodes by layer, each group sorted.
func (g *Graph) LayerList() [][]string {
	var out [][]string
	for i, n := range g.names { // names ascend, so each group comes out sorted
		l := g.layer[i]
		for len(out) <= l {
			out = append(out, nil)
		}
		out[l] = append(out[l], n)
	}
	return out
}

// Order returns a topological order, dependencies before dependents, with
// ties broken by name.
func (g *Graph) Order() []string { return g.namesOf(g.order) }

// Descendants returns every node that depends on any of ns, directly or
// transitively, sorted and excluding ns. Unknown names are ignored.
func (g *Graph) Descendants(ns ...string) []string { return g.reach(g.rdeps, ns) }

// Ancestors returns every node that any of ns depends on, directly or
// transitively, sorted and excluding ns. Unknown names are ignored.
func (g *Graph) Ancestors(ns ...string) []string { return g.reach(g.deps, ns) }

func (g *Graph) reach(edges [][]int, ns []string) []string {
	seen := make([]bool, len(g.names))
	start := make([]bool, len(g.names))
	var queue []int
	for _, n := range ns {
		if i, ok := g.index[n]; ok && !start[i] {
			start[i], seen[i] = true, true
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, e := range edges[n] {
			if !seen[e] {
				seen[e] = true
				queue = append(queue, e)
			}
		}
	}
	var out []string
	for i, n := range g.names {
		if seen[i] && !start[i] {
			out = append(out, n)
		}
	}
	return out
}

// Subgraph returns the graph induced by ns: those nodes (unknown names are
// ignored) and the edges between them.
func (g *Graph) Subgraph(ns []string) *Graph {
	keep := make(map[int]bool, len(ns))
	for _, n := range ns {
		if i, ok := g.index[n]; ok {
			keep[i] = true
		}
	}
	sub := make(map[string][]string, len(keep))
	for i := range keep {
		var ds []string
		for _, d := range g.deps[i] {
			if keep[d] {
				ds = append(ds, g.names[d])
			}
		}
		sub[g.names[i]] = ds
	}
	out, err := New(sub)
	if err != nil {
		panic("graph: subgraph of an acyclic graph: " + err.Error()) // cannot happen
	}
	return out
}

// Reverse returns the graph with every edge flipped, so that dependents come
// first: the order in which to destroy.
func (g *Graph) Reverse() *Graph {
	r := &Graph{names: g.names, index: g.index}
	edges := make([][]int, len(g.names))
	for i, rs := range g.rdeps {
		edges[i] = slices.Clone(rs)
	}
	if err := r.init(edges); err != nil {
		panic("graph: reverse of an acyclic graph: " + err.Error()) // cannot happen
	}
	return r
}

// CriticalPath returns the most expensive chain of dependencies, where a
// chain costs the sum of its nodes' costs, listed dependencies first. Ties
// go to the chain found first in Order. An empty graph gives 0 and nil.
func (g *Graph) CriticalPath(cost func(string) float64) (length float64, path []string) {
	if len(g.names) == 0 {
		return 0, nil
	}
	dist := make([]float64, len(g.names))
	prev := make([]int, len(g.names))
	end := -1
	for _, n := range g.order {
		prev[n] = -1
		for _, d := range g.deps[n] {
			if prev[n] == -1 || dist[d] > dist[prev[n]] {
				prev[n] = d
			}
		}
		dist[n] = cost(g.names[n])
		if prev[n] >= 0 {
			dist[n] += dist[prev[n]]
		}
		if end == -1 || dist[n] > dist[end] {
			end = n
		}
	}
	for n := end; n >= 0; n = prev[n] {
		path = append(path, g.names[n])
	}
	slices.Reverse(path)
	return dist[end], path
}
