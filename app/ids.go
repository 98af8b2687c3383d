package app

import (
	"regexp"
	"strconv"
	"unicode"

	"github.com/cloudplatform/cloud/engine/manifest"
)

// The formats of the identifiers callers pass in, as error messages state
// them.
const (
	DeploymentIDFormat = `"D" and 6 characters A-Z or 0-9, e.g. D1BRV40`
	OperationIDFormat  = `"op-", 12 hex digits, "-" and 6 hex digits, e.g. op-0190a1b2c3d4-5e6f70`
)

// operationIDPattern is the form store gives operation ids.
var operationIDPattern = regexp.MustCompile(`^op-[0-9a-f]{12}-[0-9a-f]{6}$`)

// CheckDeploymentID returns a *UsageError stating the format when id is not
// one of a deployment: such an id names nothing, so it is a bad request
// rather than something not found.
func CheckDeploymentID(id string) error {
	if manifest.ValidDeploymentID(id) {
		return nil
	}
	return usagef("malformed deployment ID%s: a deployment ID is %s", quoteID(id), DeploymentIDFormat)
}

// CheckOperationID is CheckDeploymentID for an operation ID.
func CheckOperationID(id string) error {
	if operationIDPattern.MatchString(id) {
		return nil
	}
	return usagef("malformed operation ID%s: an operation ID is %s", quoteID(id), OperationIDFormat)
}

// quoteID repeats a malformed id in an error only when it is short and
// printable: control characters and long strings are never echoed back.
func quoteID(id string) string {
	if id == "" {
		return " (empty)"
	}
	if len(id) > 40 {
		return ""
	}
	for _, r := range id {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return ""
		}
	}
	return " " + strconv.Quote(id)
}
