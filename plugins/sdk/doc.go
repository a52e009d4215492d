// Package sdk is what a Curtain plugin imports, and what the host uses to
// talk to plugins.
//
// A plugin implements one of the core backend interfaces (core.Counter,
// core.ClickShard, core.Cache, core.AlertSink) and serves it with one call:
//
//	func main() {
//		sdk.Serve(sdk.Plugin{Name: "file-counter", Version: "0.1.0", Counter: newCounter()})
//	}
//
// The implementation may also be a Configurer (it takes settings from the
// host's configuration), a Pinger (the plugin's gRPC health check probes its
// backing service) and a Closer (released when serving ends). Plugin code
// logs through Logger, whose JSON lines go-plugin forwards to the host.
//
// On the host side, PluginSet and VersionedPlugins configure a go-plugin
// client and Handshake its handshake; dispensing a kind by its name
// (KindCounter, ...) yields a *CounterClient, *ClickShardClient,
// *CacheClient or *AlertSinkClient, which implements the kind's core
// interface and Client (Info, Configure, Ping).
//
// Errors cross the wire intact: the plugin side encodes the core sentinels
// as gRPC status codes (EncodeError) and the host side decodes them back
// (DecodeError), so errors.Is(err, core.ErrNotFound) works on the host; a
// plugin that cannot be reached yields core.ErrUnavailable.
//
// The conformance suite in package plugins/plugintest checks any
// implementation, in process and over a real plugin connection.
package sdk
