package project

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/cloudplatform/cloud/stacks/protocol"
	"go.yaml.in/yaml/v3"
)

// yamlProgram is what cloud reads of a Pulumi YAML program without running
// it: its text and its outputs.
type yamlProgram struct {
	text    string
	outputs map[string]protocol.Output
}

// yamlProgramFiles are the files the YAML language host loads a program
// from, in its order: Main.json, Main.yaml, then the project file itself.
var yamlProgramFiles = []string{"Main.json", "Main.yaml", "Pulumi.yaml"}

func (p *Project) yamlProgram() (*yamlProgram, error) {
	dir := p.ProgramDir()
	var file string
	var body []byte
	for _, name := range yamlProgramFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			file, body = filepath.Join(dir, name), b
			break
		}
	}
	if file == "" {
		return nil, fmt.Errorf("%s: no YAML program (Main.yaml, Main.json or Pulumi.yaml)", dir)
	}
	var doc struct {
		Outputs map[string]any `yaml:"outputs"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	prog := &yamlProgram{text: string(body), outputs: map[string]protocol.Output{}}
	for name, v := range doc.Outputs {
		typ, secret := exprType(v)
		prog.outputs[name] = protocol.Output{Type: typ, Secret: secret}
	}
	return prog, nil
}

// exprType is the type of a YAML program expression as far as its text
// says: literals have their own type, built-in functions their result's,
// and an interpolation ("${res.prop}") is taken as text until a deploy
// records the real type.
func exprType(v any) (typ string, secret bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return typeOf(v), false
	}
	for fn, arg := range m {
		switch fn {
		case "fn::secret":
			t, _ := exprType(arg)
			return t, true
		case "fn::split":
			return protocol.TypeArray, false
		case "fn::join", "fn::toJSON", "fn::toBase64", "fn::fromBase64", "fn::readFile", "fn::sha1":
			return protocol.TypeString, false
		}
		if strings.HasPrefix(fn, "fn::") {
			return protocol.TypeString, false
		}
	}
	return protocol.TypeObject, false
}

// interpolation finds the root names of ${…} references: "${domain}",
// "${web:domain}", "${bucket.arn}", "${list[0]}".
var interpolation = regexp.MustCompile(`\$\{([A-Za-z0-9_:.-]+?)(?:[.\[}])`)

// configRead names the declared inputs the program's text references.
func (y *yamlProgram) configRead(inputs map[string]protocol.Input, project string) []string {
	seen := map[string]bool{}
	for _, m := range interpolation.FindAllStringSubmatch(y.text, -1) {
		name := strings.TrimPrefix(m[1], project+":")
		if _, ok := inputs[name]; ok {
			seen[name] = true
		}
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
