// Package kubernetes holds Curtain's Kubernetes manifests and the test that
// validates them offline: every document decodes strictly into the
// k8s.io/api types, the objects reference each other consistently, and the
// environment each container gets is a valid Curtain configuration.
package kubernetes
