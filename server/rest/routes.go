package rest

import "net/http"

// route is one REST endpoint: a ServeMux pattern (method and path without
// Prefix; wildcards named as in the OpenAPI document), the query
// parameters it takes (others are refused), and its handler.
type route struct {
	Method string
	Path   string
	Query  []string
	handle func(*api, http.ResponseWriter, *http.Request) error
}

// Query parameter sets shared by several routes.
var (
	paging      = []string{"first", "after"}
	eventParams = []string{"afterSeq", "after", "first", "stack", "kind"}
)

const (
	dep   = "/deployments/{id}"
	env   = dep + "/environments/{env}"
	stack = env + "/stacks/{stack}"
)

// routeTable is every REST route, in the order of the OpenAPI document.
// It is the one place routes are declared: New registers them and the
// tests compare them with the document.
var routeTable = []route{
	{"GET", "/openapi.json", nil, (*api).openAPI},

	// Deployments and their manifests.
	{"GET", "/deployments", []string{"first", "after", "includeDestroyed"}, (*api).listDeployments},
	{"POST", "/deployments", nil, (*api).createDeployment},
	{"GET", dep, nil, (*api).getDeployment},
	{"DELETE", dep, []string{"force"}, (*api).deleteDeployment},
	{"GET", dep + "/manifest", []string{"revision"}, (*api).getManifest},
	{"PUT", dep + "/manifest", nil, (*api).putManifest},
	{"GET", dep + "/manifest/revisions", paging, (*api).listRevisions},
	{"POST", dep + "/config", nil, (*api).setConfig},
	{"DELETE", dep + "/config/{key}", nil, (*api).unsetConfig},
	{"POST", dep + "/validate", []string{"environment"}, (*api).validateDeployment},
	{"GET", dep + "/dependencies", nil, (*api).validateDependencies},
	{"GET", dep + "/operations", []string{"environment", "first", "after"}, (*api).listOperations},
	{"GET", dep + "/events", append([]string{"environment"}, eventParams...), (*api).deploymentEvents},

	// Environments.
	{"GET", dep + "/environments", nil, (*api).listEnvironments},
	{"GET", env, nil, (*api).getEnvironment},
	{"POST", env + "/enable", nil, (*api).enableEnvironment},
	{"POST", env + "/disable", nil, (*api).disableEnvironment},
	{"GET", env + "/plan", nil, (*api).getPlan},
	{"GET", env + "/outputs", []string{"stack", "showSecrets"}, (*api).environmentOutputs},
	{"GET", env + "/lock", nil, (*api).getLock},
	{"POST", env + "/lock", nil, (*api).lockEnvironment},
	{"DELETE", env + "/lock", []string{"force"}, (*api).unlockEnvironment},
	{"GET", env + "/team-lock", nil, (*api).getTeamLock},
	{"DELETE", env + "/team-lock", nil, (*api).breakTeamLock},
	{"GET", env + "/rollback-candidates", nil, (*api).rollbackCandidates},
	{"POST", env + "/deploy", nil, startEnvironment("deploy")},
	{"POST", env + "/preview", nil, startEnvironment("preview")},
	{"POST", env + "/destroy", nil, startEnvironment("destroy")},
	{"POST", env + "/refresh", nil, startEnvironment("refresh")},
	{"POST", env + "/rollback", nil, (*api).rollback},

	// Stacks of a deployment in an environment.
	{"GET", env + "/stacks", nil, (*api).listStackStates},
	{"GET", stack, nil, (*api).getStackState},
	{"GET", stack + "/outputs", []string{"showSecrets"}, (*api).stackOutputs},
	{"POST", stack + "/deploy", nil, startStack("deploy")},
	{"POST", stack + "/preview", nil, startStack("preview")},
	{"POST", stack + "/destroy", nil, startStack("destroy")},
	{"POST", stack + "/refresh", nil, startStack("refresh")},

	// Operations.
	{"GET", "/operations/{id}", nil, (*api).getOperation},
	{"POST", "/operations/{id}/cancel", nil, (*api).cancelOperation},
	{"GET", "/operations/{id}/events", eventParams, (*api).operationEvents},

	// The stack registry.
	{"GET", "/stacks", paging, (*api).listStacks},
	{"POST", "/stacks", nil, (*api).registerStack},
	{"GET", "/stacks/{name}", nil, (*api).getStack},
	{"PATCH", "/stacks/{name}", nil, (*api).updateStack},
	{"DELETE", "/stacks/{name}", []string{"force"}, (*api).unregisterStack},
	{"POST", "/stacks/{name}/validate", []string{"strict"}, (*api).validateStack},

	// Deployment templates.
	{"GET", "/templates", paging, (*api).listTemplates},
	{"POST", "/templates", nil, (*api).createTemplate},
	{"GET", "/templates/{name}", nil, (*api).getTemplate},
	{"PATCH", "/templates/{name}", nil, (*api).updateTemplate},
	{"DELETE", "/templates/{name}", nil, (*api).deleteTemplate},
	{"POST", "/templates/{name}/validate", nil, (*api).validateTemplate},

	// Team sync.
	{"GET", "/sync", nil, (*api).getSyncStatus},
	{"POST", "/sync/run", nil, (*api).runSync},
	{"GET", "/sync/conflicts", []string{"all"}, (*api).listSyncConflicts},
	{"GET", "/sync/conflicts/{id}", nil, (*api).getSyncConflict},
	{"POST", "/sync/conflicts/{id}/resolve", nil, (*api).resolveSyncConflict},

	// Checks of the server's tools and credentials, and its version.
	{"GET", "/access/pulumi", []string{"deploymentId"}, (*api).pulumiAccess},
	{"GET", "/access/aws", []string{"profile"}, (*api).awsAccess},
	{"GET", "/version", nil, (*api).getVersion},
}
