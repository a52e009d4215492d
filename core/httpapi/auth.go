package httpapi

import "context"

// apiKeyIDKey carries the id of the request's API key in its context.
type apiKeyIDKey struct{}

// apiKeyID returns the id of the API key the request was made with, or
// "" when it carries none.
func apiKeyID(ctx context.Context) string {
	id, _ := ctx.Value(apiKeyIDKey{}).(string)
	return id
}
