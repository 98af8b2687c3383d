package main

import (
	"strings"
	"testing"
)

func TestInterspersed(t *testing.T) {
	app := newApp(&env{io: &streams{}})
	cases := []struct{ in, want string }{
		{"cloud deploy D1 -e dev", "cloud deploy -e dev D1"},
		{"cloud deploy D1 -e dev -o json", "cloud -o json deploy -e dev D1"},
		{"cloud --home /h deploy D1 --parallel=3 --force", "cloud --home /h deploy --parallel=3 --force D1"},
		{"cloud destroy D1 --yes -e prod", "cloud --yes destroy -e prod D1"},
		{"cloud config set D1 stacks.a.config.x 3", "cloud config set D1 stacks.a.config.x 3"},
		{"cloud config D1 --from-file m.yaml", "cloud config --from-file m.yaml D1"},
		{"cloud outputs D1 app --show-secrets -e dev", "cloud outputs --show-secrets -e dev D1 app"},
		{"cloud logs D1 -- -e", "cloud logs D1 -- -e"},
		{"cloud nosuch D1 -e dev", "cloud nosuch D1 -e dev"},
		{"cloud deploy D1 --generate-bash-completion", "cloud deploy D1 --generate-bash-completion"},
	}
	for _, c := range cases {
		got := strings.Join(interspersed(app, strings.Fields(c.in)), " ")
		if got != c.want {
			t.Errorf("interspersed(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
