package auth

import (
	"net/http"
	"strings"
)

// BearerToken extracts the token of an "Authorization: Bearer <token>"
// header; the scheme is matched case-insensitively (RFC 9110 §11.1).
//
// It returns "", nil when the request has no Authorization header, so the
// caller can tell an anonymous request from a bad one, and an *Error with
// Reason "malformed authorization header" when the header is present but is
// not exactly one Bearer token.
func BearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		// Two Authorization headers are ambiguous; picking one could let a
		// proxy and this server disagree about who the caller is.
		return "", newError(reasonMalformedHeader)
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", newError(reasonMalformedHeader)
	}
	token = strings.TrimSpace(token)
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", newError(reasonMalformedHeader)
	}
	return token, nil
}
