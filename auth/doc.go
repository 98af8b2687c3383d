// Package auth verifies the JSON Web Tokens that Amazon Cognito user pools
// issue, so that the server can accept a request from a signed-in user
// without calling Cognito on every request.
//
// A [Verifier] checks a token's RS256 signature against the user pool's
// published signing keys (its JWKS), then its issuer, token_use, app client
// and validity times, and returns the [Claims] the server needs. Both ID
// tokens and access tokens are accepted.
//
// The signing keys are fetched lazily and cached. A token signed by a key
// the cache does not know triggers a refetch, which is how Cognito key
// rotation is picked up; refetches are rate-limited (Config.RefreshInterval)
// so that a client sending tokens with made-up key IDs cannot turn the
// server into a load generator against Cognito.
//
// Every rejection is an [*Error] whose Reason is short and safe to return to
// the client: it never contains the token.
//
// Package authtest provides a local issuer that signs tokens the way
// Cognito does, for tests.
package auth
