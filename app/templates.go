package app

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/cloudplatform/cloud/store"
	"go.yaml.in/yaml/v3"
)

//go:embed templates/*.yaml
var builtinTemplates embed.FS

// installTemplates stores the built-in deployment templates, rewriting one
// only when the binary ships a different body (so opening the app does not
// write on every command).
func (a *App) installTemplates(ctx context.Context) error {
	entries, err := builtinTemplates.ReadDir("templates")
	if err != nil {
		return err
	}
	for _, e := range entries {
		body, err := builtinTemplates.ReadFile(path.Join("templates", e.Name()))
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(e.Name(), ".yaml")
		cur, err := a.db.DeploymentTemplate(ctx, name)
		if err == nil && cur.Body == string(body) {
			continue
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var t struct {
			Description string `yaml:"description"`
		}
		if err := yaml.Unmarshal(body, &t); err != nil {
			return fmt.Errorf("built-in template %s: %w", name, err)
		}
		if err := a.db.PutDeploymentTemplate(ctx, store.DeploymentTemplate{
			Name: name, Description: t.Description, Body: string(body), Builtin: true,
		}); err != nil {
			return err
		}
	}
	return nil
}
