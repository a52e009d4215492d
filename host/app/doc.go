// Package app assembles and runs a Curtain application from its
// configuration: the durable store, the plugin host with only the plugin
// kinds the process calls, the click batcher, the near-cache, the service,
// the HTTP API, the stream consumer and the alert sink, and the ordered
// shutdown of all of them.
//
// cmd/curtain calls it for serve, consume and notify; a program that embeds
// Curtain calls it the same way (see examples/embedhost). It sits above
// the plugin manager (package host), which imports none of the drivers,
// the HTTP API or the consumer.
package app
