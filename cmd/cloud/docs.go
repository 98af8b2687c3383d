package main

// The generated CLI reference (docs/cli.md) from the command definitions.

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

//go:embed docs_header.md
var docsHeader string

// cliMarkdown renders docs/cli.md from the command definitions, so the
// manual and `--help` can never disagree.
func cliMarkdown(app *cli.App) string {
	var b strings.Builder
	b.WriteString(docsHeader)
	b.WriteString("\n## Global flags\n\n")
	flagTable(&b, app.Flags)
	b.WriteString("\n## Commands\n")
	for _, c := range app.Commands {
		if c.Hidden || c.Name == "help" {
			continue
		}
		commandMarkdown(&b, "", c)
	}
	return b.String()
}

func commandMarkdown(b *strings.Builder, parent string, c *cli.Command) {
	name := strings.TrimSpace(parent + " " + c.Name)
	fmt.Fprintf(b, "\n### %s\n\n%s.\n\n", name, upperFirst(c.Usage))
	usage := "cloud " + name
	if len(c.Flags) > 0 {
		usage += " [flags]"
	}
	if c.ArgsUsage != "" {
		usage += " " + c.ArgsUsage
	}
	if len(c.Subcommands) > 0 && c.Action == nil {
		usage += " COMMAND"
	}
	fmt.Fprintf(b, "```text\n%s\n```\n", usage)
	prose, examples := splitExamples(c.Description)
	if prose != "" {
		fmt.Fprintf(b, "\n%s\n", prose)
	}
	if d, ok := outputDocuments[name]; ok {
		where := "the same locally and with `--server`"
		if !remoteCommands[strings.Fields(name)[0]] {
			where = "as the server serves it"
		}
		fmt.Fprintf(b, "\nWith `-o json` or `-o yaml` it prints %s, %s.\n", d, where)
	}
	if len(c.Flags) > 0 {
		b.WriteString("\n")
		flagTable(b, c.Flags)
	}
	if len(examples) > 0 {
		fmt.Fprintf(b, "\n```sh\n%s\n```\n", strings.Join(examples, "\n"))
	}
	for _, sub := range c.Subcommands {
		if !sub.Hidden && sub.Name != "help" {
			commandMarkdown(b, name, sub)
		}
	}
}

// splitExamples separates a description's prose from its "Examples:"
// block (lines indented by three spaces, as `--help` shows them).
func splitExamples(desc string) (string, []string) {
	prose, ex, found := strings.Cut(desc, "Examples:")
	var examples []string
	if found {
		for _, l := range strings.Split(ex, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				examples = append(examples, l)
			}
		}
	}
	// Descriptions are wrapped for a terminal; join each paragraph's lines.
	var paras []string
	for _, p := range strings.Split(strings.TrimSpace(prose), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			paras = append(paras, strings.Join(strings.Fields(p), " "))
		}
	}
	return strings.Join(paras, "\n\n"), examples
}

func flagTable(b *strings.Builder, flags []cli.Flag) {
	b.WriteString("| flag | default | environment | meaning |\n| --- | --- | --- | --- |\n")
	sorted := append([]cli.Flag(nil), flags...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Names()[0] < sorted[j].Names()[0] })
	for _, f := range sorted {
		names := f.Names()
		if names[0] == "help" {
			continue
		}
		var forms []string
		for _, n := range names {
			dash := "--"
			if len(n) == 1 {
				dash = "-"
			}
			forms = append(forms, "`"+dash+n+"`")
		}
		def, env, usage := "", "", ""
		if df, ok := f.(cli.DocGenerationFlag); ok {
			if df.TakesValue() {
				def = df.GetDefaultText()
				if def == "" {
					def = df.GetValue()
				}
			}
			if vs := df.GetEnvVars(); len(vs) > 0 {
				env = "`" + strings.Join(vs, "`, `") + "`"
			}
			usage = df.GetUsage()
		}
		if strings.HasPrefix(def, "\"") || def == "" {
			def = strings.Trim(def, `"`)
		}
		if def != "" {
			def = "`" + def + "`"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", strings.Join(forms, ", "), def, env, strings.ReplaceAll(usage, "|", `\|`))
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// report is the document an operation's command prints when it ends.
const report = "the operation's document once it ended (GraphQL `Operation` with its `stacks`; REST `GET /api/v1/operations/{id}`)"

// outputDocuments names, per command, the API document its -o json and -o
// yaml print (TestOutputContract holds them to the REST answers).
var outputDocuments = map[string]string{
	"status":                "the deployment's document (GraphQL `Deployment`; REST `GET /api/v1/deployments/{id}`) with only the environment asked for, or every one with `--all-environments`",
	"list":                  "the list of deployments (`{items, totalCount}` of GraphQL `Deployment`; REST `GET /api/v1/deployments`), every page",
	"history":               "a page of operations, newest first (`{items, nextCursor, totalCount}` of GraphQL `Operation`; REST `GET /api/v1/deployments/{id}/operations`)",
	"outputs":               "the list of outputs (`{items, totalCount}` of GraphQL `Output`, secrets `redacted` unless `--show-secrets`; REST `GET /api/v1/deployments/{id}/environments/{env}/outputs`)",
	"logs":                  "one event document per line, JSON Lines (GraphQL `Event`; the items of REST `GET /api/v1/operations/{id}/events`), as `monitor -o json` does",
	"rollback":              "with `--list` the candidates (`{items, totalCount}` of GraphQL `Operation`; REST `GET /api/v1/deployments/{id}/environments/{env}/rollback-candidates`), else " + report,
	"cancel":                "the operation's document as it is when asked to stop (REST `POST /api/v1/operations/{id}/cancel`)",
	"deploy":                report,
	"deploy-stack":          report,
	"preview":               report,
	"refresh":               report,
	"destroy":               report,
	"destroy-stack":         report,
	"disable-environment":   "with `--destroy`, " + report,
	"init":                  "the new deployment's document (GraphQL `Deployment`; REST `POST /api/v1/deployments` answers it)",
	"list-environments":     "the list of environments, each with its stacks (`{items, totalCount}` of GraphQL `Environment`; REST `GET /api/v1/deployments/{id}/environments`)",
	"graph":                 "the environment's plan (GraphQL `Plan`; REST `GET /api/v1/deployments/{id}/environments/{env}/plan`; `--format json` prints it too)",
	"list-stacks":           "the list of registered stacks (`{items, totalCount}` of GraphQL `StackTemplate`; REST `GET /api/v1/stacks`)",
	"list-templates":        "the list of templates (`{items, totalCount}` of GraphQL `DeploymentTemplate`; REST `GET /api/v1/templates`)",
	"show-template":         "the template's document with its body (GraphQL `DeploymentTemplate`; REST `GET /api/v1/templates/{name}`)",
	"validate dependencies": "each environment's graph check (`{items, totalCount}` of GraphQL `GraphCheck`; REST `GET /api/v1/deployments/{id}/dependencies`)",
	"validate deployment":   "the validation (GraphQL `Validation`; REST `POST /api/v1/deployments/{id}/validate`)",
	"validate-template":     "the validation (GraphQL `Validation`; REST `POST /api/v1/templates/{name}/validate`)",
	"validate-stack":        "one stack's validation (GraphQL `StackValidation`; REST `POST /api/v1/stacks/{name}/validate`), or with `--all` the list of every one (`{items, totalCount}`)",
	"lock":                  "with `--status`, the environment's lock (`{locked, holder}`, the holder an `Operation`; REST `GET /api/v1/deployments/{id}/environments/{env}/lock`)",
	"lock status":           "the environment's lock (REST `GET …/lock`) with `team`, its team lock (GraphQL `TeamLock`; REST `GET …/team-lock`)",
	"config":                "the manifest revision shown (GraphQL `ManifestRevision`; REST `GET /api/v1/deployments/{id}/manifest`); with `--from-file`, the change (GraphQL `ManifestChange`; REST `PUT …/manifest` answers it)",
	"config set":            "the change (GraphQL `ManifestChange`: the deployment, the new revision, `changed`; REST `POST /api/v1/deployments/{id}/config` answers it)",
	"config unset":          "the change (GraphQL `ManifestChange`; REST `DELETE /api/v1/deployments/{id}/config/{key}` answers it)",
	"sync":                  "what moved (GraphQL `SyncRun`; REST `POST /api/v1/sync/run` answers it)",
	"sync push":             "what moved (GraphQL `SyncRun`; REST `POST /api/v1/sync/run` with `mode: push`)",
	"sync pull":             "what moved (GraphQL `SyncRun`; REST `POST /api/v1/sync/run` with `mode: pull`)",
	"sync reconcile":        "what moved (GraphQL `SyncRun`; REST `POST /api/v1/sync/run` with `mode: reconcile`)",
	"sync status":           "the team sync of this home (GraphQL `SyncStatus`; REST `GET /api/v1/sync`)",
	"sync conflicts":        "the list of conflicts (`{items, totalCount}` of GraphQL `SyncConflict`; REST `GET /api/v1/sync/conflicts`)",
	"sync resolve":          "the conflict as resolved (GraphQL `SyncConflict`; REST `POST /api/v1/sync/conflicts/{id}/resolve` answers it)",
	"register-stack":        "the registered stack (GraphQL `StackTemplate`; REST `POST /api/v1/stacks` answers it)",
	"update-stack":          "the stack as updated (GraphQL `StackTemplate`; REST `PATCH /api/v1/stacks/{name}` answers it)",
	"create-template":       "the new template (GraphQL `DeploymentTemplate`; REST `POST /api/v1/templates` answers it)",
	"update-template":       "the template as updated (GraphQL `DeploymentTemplate`; REST `PATCH /api/v1/templates/{name}` answers it)",
	"version":               "the version document (GraphQL `Version`; REST `GET /api/v1/version`)",
}
