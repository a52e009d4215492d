// Package pluginv1 holds the messages every Curtain plugin service shares
// (proto package curtain.plugin.v1): Info, which identifies a plugin, and
// Configure, which hands it its settings. Generated from plugin.proto; do
// not edit the .pb.go files by hand.
package pluginv1
