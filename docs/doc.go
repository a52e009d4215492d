// Package docs holds Curtain's documentation. Its test runs every shell
// block marked `sh run` against a Curtain it starts, and compares the output
// of each with the `json shape` block that follows it, so that no command
// or response shape in the documents goes stale.
package docs
