package main

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/cloudplatform/cloud/stacks/aws/awskit"
)

// service is one entry of the services input.
type service struct {
	name                                 string
	cpu, memory, desired, maxCount, port int
	path, healthPath                     string
}

var serviceNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)

// fargateMemory lists, for each Fargate CPU size, the memory sizes (MiB)
// it can run with: [min, max, step].
var fargateMemory = map[int][3]int{
	256:   {512, 2048, 512}, // 512, 1024, 2048
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

// parseServices reads the services input, sorted by name; errors name the
// offending field as services.<name>.<field>.
func parseServices(v any) ([]service, error) {
	names, m, err := awskit.Entries("services", v, "service")
	if err != nil {
		return nil, err
	}
	var out []service
	for _, n := range names {
		where := "services." + n
		if !serviceNamePattern.MatchString(n) {
			return nil, fmt.Errorf("input %q: the name must be 2–32 lowercase letters, digits and dashes, starting with a letter", where)
		}
		spec, ok := m[n].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("input %q: want an object with cpu, memory, desiredCount and port, got %T", where, m[n])
		}
		s := service{name: n, path: "/" + n + "/*", healthPath: "/health"}
		var err error
		if s.cpu, err = intField(spec, where, "cpu", 256, 16384); err != nil {
			return nil, err
		}
		mem, ok := fargateMemory[s.cpu]
		if !ok {
			return nil, fmt.Errorf("input %q: %d is not a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192, 16384)", where+".cpu", s.cpu)
		}
		if s.memory, err = intField(spec, where, "memory", 512, 122880); err != nil {
			return nil, err
		}
		if s.memory < mem[0] || s.memory > mem[1] || (s.memory-mem[0])%mem[2] != 0 {
			return nil, fmt.Errorf("input %q: %d MiB does not fit cpu %d; Fargate allows %d to %d in steps of %d",
				where+".memory", s.memory, s.cpu, mem[0], mem[1], mem[2])
		}
		if s.desired, err = intField(spec, where, "desiredCount", 0, 1000); err != nil {
			return nil, err
		}
		if s.port, err = intField(spec, where, "port", 1, 65535); err != nil {
			return nil, err
		}
		s.maxCount = max(4*s.desired, 1)
		if _, set := spec["maxCount"]; set {
			if s.maxCount, err = intField(spec, where, "maxCount", max(s.desired, 1), 1000); err != nil {
				return nil, err
			}
		}
		if p, set := spec["path"]; set {
			ps, ok := p.(string)
			if !ok || !strings.HasPrefix(ps, "/") {
				return nil, fmt.Errorf("input %q: want a path pattern starting with /, got %v", where+".path", p)
			}
			s.path = ps
		}
		if p, set := spec["healthCheckPath"]; set {
			ps, ok := p.(string)
			if !ok || !strings.HasPrefix(ps, "/") {
				return nil, fmt.Errorf("input %q: want a path starting with /, got %v", where+".healthCheckPath", p)
			}
			s.healthPath = ps
		}
		out = append(out, s)
	}
	return out, nil
}

func intField(spec map[string]any, where, key string, lo, hi int) (int, error) {
	var f float64
	switch n := spec[key].(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case nil:
		return 0, fmt.Errorf("input %q is required", where+"."+key)
	default:
		return 0, fmt.Errorf("input %q: want a number, got %T", where+"."+key, spec[key])
	}
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, fmt.Errorf("input %q: want a whole number between %d and %d, got %v", where+"."+key, lo, hi, f)
	}
	return int(f), nil
}
