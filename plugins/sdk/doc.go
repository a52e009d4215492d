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
// A plugin serves the standard gRPC health service (go-plugin registers
// it). When the implementation is a Pinger, a Check of the service "" or
// "plugin" calls Ping and answers NOT_SERVING while it fails; the streaming
// Watch call is not tied to Ping. go-plugin's own ClientProtocol.Ping
// ignores the answered status; Client.Ping, like the host's supervisor,
// reads it.
//
// When a go-plugin client reattaches to a running plugin (ServeTest in
// tests) it negotiates no version and dispenses from ClientConfig.Plugins,
// so set Plugins: PluginSet(kind) there; a started plugin uses
// VersionedPlugins.
//
// Errors cross the wire intact: the plugin side encodes the core sentinels
// as gRPC status codes (EncodeError) and the host side decodes them back
// (DecodeError), so errors.Is(err, core.ErrNotFound) works on the host; a
// plugin that cannot be reached yields core.ErrUnavailable.
//
// The conformance suite in package plugins/plugintest checks any
// implementation, in process and over a real plugin connection.
package sdk
