package sdk

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/curtainhq/curtain/core"
	alertsinkv1 "github.com/curtainhq/curtain/plugins/proto/alertsink/v1"
	cachev1 "github.com/curtainhq/curtain/plugins/proto/cache/v1"
	clickshardv1 "github.com/curtainhq/curtain/plugins/proto/clickshard/v1"
	counterv1 "github.com/curtainhq/curtain/plugins/proto/counter/v1"
	pluginv1 "github.com/curtainhq/curtain/plugins/proto/plugin/v1"
)

// Client is what the host gets, besides the kind's core interface, from
// every plugin it dispenses: *CounterClient, *ClickShardClient,
// *CacheClient and *AlertSinkClient implement it. Every method passes the
// caller's ctx to the RPC and returns errors decoded by DecodeError.
type Client interface {
	// Kind returns the kind the client speaks (KindCounter, ...).
	Kind() string
	// Info asks the plugin who it is. Check the answer with
	// Info.Compatible before using the plugin.
	Info(ctx context.Context) (Info, error)
	// Configure hands the plugin its settings (a JSON object, or empty). A
	// rejected setting comes back as a *core.ValidationError naming the key.
	Configure(ctx context.Context, settings []byte) error
	// Ping runs the plugin's gRPC health check; it fails with
	// core.ErrUnavailable when the plugin is unreachable or reports
	// NOT_SERVING (its backing service is down).
	Ping(ctx context.Context) error
}

// identity is the part every generated client shares.
type identity interface {
	Info(ctx context.Context, in *pluginv1.InfoRequest, opts ...grpc.CallOption) (*pluginv1.InfoResponse, error)
	Configure(ctx context.Context, in *pluginv1.ConfigureRequest, opts ...grpc.CallOption) (*pluginv1.ConfigureResponse, error)
}

// clientBase implements Client on top of one kind's generated client.
type clientBase struct {
	kind string
	// instance is the name the host gave the plugin instance (shard1,
	// cache), empty for a client made by NewClient; errors name it.
	instance string
	id       identity
	health   grpc_health_v1.HealthClient
}

func newClientBase(kind string, id identity, conn grpc.ClientConnInterface) clientBase {
	return clientBase{kind: kind, id: id, health: grpc_health_v1.NewHealthClient(conn)}
}

func (c *clientBase) Kind() string { return c.kind }

func (c *clientBase) Info(ctx context.Context) (Info, error) {
	resp, err := c.id.Info(ctx, &pluginv1.InfoRequest{})
	if err != nil {
		return Info{}, c.wrap("info", err)
	}
	return Info{
		Name:           resp.GetName(),
		Kind:           resp.GetKind(),
		Version:        resp.GetVersion(),
		Contract:       int(resp.GetContractVersion()),
		Capabilities:   resp.GetCapabilities(),
		SettingsSchema: resp.GetSettingsSchema(),
	}, nil
}

func (c *clientBase) Configure(ctx context.Context, settings []byte) error {
	_, err := c.id.Configure(ctx, &pluginv1.ConfigureRequest{SettingsJson: settings})
	return c.wrap("configure", err)
}

func (c *clientBase) Ping(ctx context.Context) error {
	resp, err := c.health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if err != nil {
		return c.wrap("health check", err)
	}
	if s := resp.GetStatus(); s != grpc_health_v1.HealthCheckResponse_SERVING {
		return fmt.Errorf("%s: %s: %w", c.what("health check"), s, core.ErrUnavailable)
	}
	return nil
}

// wrap decodes err and names the kind, the instance and the call.
func (c *clientBase) wrap(call string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", c.what(call), DecodeError(err))
}

// setInstance names the instance in the client's errors.
func (c *clientBase) setInstance(name string) { c.instance = name }

// what names a call for an error: "clickshard plugin read", or, on an
// instance the host named, `clickshard plugin "shard1" read`.
func (c *clientBase) what(call string) string {
	if c.instance == "" {
		return fmt.Sprintf("%s plugin %s", c.kind, call)
	}
	return fmt.Sprintf("%s plugin %q %s", c.kind, c.instance, call)
}

// CounterClient is the host's view of a counter plugin: a core.Counter
// and a Client.
type CounterClient struct {
	clientBase
	rpc counterv1.CounterClient
}

// NewCounterClient returns a client for the counter service on conn.
func NewCounterClient(conn grpc.ClientConnInterface) *CounterClient {
	rpc := counterv1.NewCounterClient(conn)
	return &CounterClient{clientBase: newClientBase(KindCounter, rpc, conn), rpc: rpc}
}

// Reserve implements core.Counter.
func (c *CounterClient) Reserve(ctx context.Context, req core.ReserveRequest) (core.Block, error) {
	resp, err := c.rpc.Reserve(ctx, &counterv1.ReserveRequest{Size: req.Size, Floor: req.Floor})
	if err != nil {
		return core.Block{}, c.wrap("reserve", err)
	}
	return core.Block{First: resp.GetFirst(), Size: resp.GetSize()}, nil
}

// ClickShardClient is the host's view of a click-shard plugin: a
// core.ClickShard and a Client.
type ClickShardClient struct {
	clientBase
	rpc clickshardv1.ClickShardClient
}

// NewClickShardClient returns a client for the click-shard service on conn.
func NewClickShardClient(conn grpc.ClientConnInterface) *ClickShardClient {
	rpc := clickshardv1.NewClickShardClient(conn)
	return &ClickShardClient{clientBase: newClientBase(KindClickShard, rpc, conn), rpc: rpc}
}

// Record implements core.ClickShard.
func (c *ClickShardClient) Record(ctx context.Context, clicks []core.Click) error {
	_, err := c.rpc.Record(ctx, &clickshardv1.RecordRequest{Clicks: clicksToProto(clicks)})
	return c.wrap("record", err)
}

// Stats implements core.ClickShard.
func (c *ClickShardClient) Stats(ctx context.Context, req core.StatsRequest) (core.ShardStats, error) {
	resp, err := c.rpc.Stats(ctx, statsRequestToProto(req))
	if err != nil {
		return core.ShardStats{}, c.wrap("stats", err)
	}
	return statsFromProto(resp), nil
}

// Read implements core.ClickShard.
func (c *ClickShardClient) Read(ctx context.Context, req core.ReadRequest) ([]core.Delivery, error) {
	resp, err := c.rpc.Read(ctx, readRequestToProto(req))
	if err != nil {
		return nil, c.wrap("read", err)
	}
	return deliveriesFromProto(resp.GetDeliveries()), nil
}

// Ack implements core.ClickShard.
func (c *ClickShardClient) Ack(ctx context.Context, req core.AckRequest) error {
	_, err := c.rpc.Ack(ctx, ackRequestToProto(req))
	return c.wrap("ack", err)
}

// Delete implements core.ClickDeleter. A plugin older than contract v1.2,
// or one that keeps nothing to delete, answers UNIMPLEMENTED: Delete then
// returns an error wrapping errors.ErrUnsupported.
func (c *ClickShardClient) Delete(ctx context.Context, names []string) error {
	_, err := c.rpc.Delete(ctx, &clickshardv1.DeleteRequest{Codes: names})
	if status.Code(err) == codes.Unimplemented {
		return fmt.Errorf("%s: %w", c.what("delete"), errors.ErrUnsupported)
	}
	return c.wrap("delete", err)
}

// CacheClient is the host's view of a cache plugin: a core.Cache and a
// Client.
type CacheClient struct {
	clientBase
	rpc cachev1.CacheClient
}

// NewCacheClient returns a client for the cache service on conn.
func NewCacheClient(conn grpc.ClientConnInterface) *CacheClient {
	rpc := cachev1.NewCacheClient(conn)
	return &CacheClient{clientBase: newClientBase(KindCache, rpc, conn), rpc: rpc}
}

// Get implements core.Cache. The map is never nil, and a hit's value is
// never nil (an empty value is an empty slice).
func (c *CacheClient) Get(ctx context.Context, keys []string) (map[string][]byte, error) {
	resp, err := c.rpc.Get(ctx, &cachev1.GetRequest{Keys: keys})
	if err != nil {
		return nil, c.wrap("get", err)
	}
	return cacheValues(resp.GetEntries()), nil
}

// Set implements core.Cache.
func (c *CacheClient) Set(ctx context.Context, entries []core.CacheEntry) error {
	_, err := c.rpc.Set(ctx, &cachev1.SetRequest{Entries: entriesToProto(entries)})
	return c.wrap("set", err)
}

// Delete implements core.Cache.
func (c *CacheClient) Delete(ctx context.Context, keys []string) error {
	_, err := c.rpc.Delete(ctx, &cachev1.DeleteRequest{Keys: keys})
	return c.wrap("delete", err)
}

// WatchInvalidations implements core.CacheWatcher over the Watch stream.
// A plugin without the capability answers UNIMPLEMENTED, returned as an
// error wrapping errors.ErrUnsupported.
func (c *CacheClient) WatchInvalidations(ctx context.Context, fn func(core.Invalidation) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.Watch(ctx, &cachev1.WatchRequest{})
	if err != nil {
		return c.wrapWatch(err)
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			return c.wrapWatch(err)
		}
		if err := fn(core.Invalidation{Reset: ev.GetReset_(), Keys: ev.GetKeys()}); err != nil {
			return err
		}
	}
}

func (c *CacheClient) wrapWatch(err error) error {
	if status.Code(err) == codes.Unimplemented {
		return fmt.Errorf("%s: %w", c.what("watch"), errors.ErrUnsupported)
	}
	return c.wrap("watch", err)
}

// AlertSinkClient is the host's view of an alert-sink plugin: a
// core.AlertSink and a Client.
type AlertSinkClient struct {
	clientBase
	rpc alertsinkv1.AlertSinkClient
}

// NewAlertSinkClient returns a client for the alert-sink service on conn.
func NewAlertSinkClient(conn grpc.ClientConnInterface) *AlertSinkClient {
	rpc := alertsinkv1.NewAlertSinkClient(conn)
	return &AlertSinkClient{clientBase: newClientBase(KindAlertSink, rpc, conn), rpc: rpc}
}

// Send implements core.AlertSink.
func (c *AlertSinkClient) Send(ctx context.Context, alerts []core.Alert) error {
	_, err := c.rpc.Send(ctx, &alertsinkv1.SendRequest{Alerts: alertsToProto(alerts)})
	return c.wrap("send", err)
}

// Interface guards.
var (
	_ core.Counter      = (*CounterClient)(nil)
	_ core.ClickShard   = (*ClickShardClient)(nil)
	_ core.Cache        = (*CacheClient)(nil)
	_ core.CacheWatcher = (*CacheClient)(nil)
	_ core.AlertSink    = (*AlertSinkClient)(nil)
	_ Client            = (*CounterClient)(nil)
	_ Client            = (*ClickShardClient)(nil)
	_ Client            = (*CacheClient)(nil)
	_ Client            = (*AlertSinkClient)(nil)
)

// NewClient returns the client of kind on conn: a *CounterClient,
// *ClickShardClient, *CacheClient or *AlertSinkClient. It is what a
// go-plugin client dispenses; tests may use it on a plain gRPC connection.
func NewClient(kind string, conn grpc.ClientConnInterface) (Client, error) {
	return newClient(kind, "", conn)
}

// newClient is NewClient for the plugin instance named instance (empty
// for none), which the client's errors name.
func newClient(kind, instance string, conn grpc.ClientConnInterface) (Client, error) {
	var c interface {
		Client
		setInstance(string)
	}
	switch kind {
	case KindCounter:
		c = NewCounterClient(conn)
	case KindClickShard:
		c = NewClickShardClient(conn)
	case KindCache:
		c = NewCacheClient(conn)
	case KindAlertSink:
		c = NewAlertSinkClient(conn)
	default:
		return nil, fmt.Errorf("sdk: unknown plugin kind %q", kind)
	}
	c.setInstance(instance)
	return c, nil
}

// grpcPlugin is the go-plugin glue of one kind. On the plugin side srv is
// set and GRPCServer registers the kind's service; on the host side srv is
// nil and GRPCClient returns the kind's client.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	kind string
	// instance is the host's name of the plugin instance, which the
	// clients GRPCClient returns name in their errors; empty for none.
	instance string
	srv      *server
}

func newGRPCPlugin(kind string, srv *server) *grpcPlugin {
	return &grpcPlugin{kind: kind, srv: srv}
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.srv == nil {
		return errors.New("sdk: host-side plugin set cannot serve")
	}
	switch p.kind {
	case KindCounter:
		counterv1.RegisterCounterServer(s, &counterServer{server: p.srv, impl: p.srv.impl.(core.Counter)})
	case KindClickShard:
		clickshardv1.RegisterClickShardServer(s, &clickShardServer{server: p.srv, impl: p.srv.impl.(core.ClickShard)})
	case KindCache:
		cachev1.RegisterCacheServer(s, &cacheServer{server: p.srv, impl: p.srv.impl.(core.Cache)})
	case KindAlertSink:
		alertsinkv1.RegisterAlertSinkServer(s, &alertSinkServer{server: p.srv, impl: p.srv.impl.(core.AlertSink)})
	default:
		return fmt.Errorf("sdk: unknown plugin kind %q", p.kind)
	}
	return nil
}

// GRPCClient implements plugin.GRPCPlugin.
func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return newClient(p.kind, p.instance, conn)
}

// PluginSet returns the go-plugin plugin set through which the host
// dispenses a plugin of kind, under the kind's name:
//
//	raw, err := rpcClient.Dispense(sdk.KindCounter)
//	counter := raw.(*sdk.CounterClient)
//
// It returns nil for an unknown kind.
func PluginSet(kind string) plugin.PluginSet {
	if !slices.Contains(Kinds(), kind) {
		return nil
	}
	return plugin.PluginSet{kind: newGRPCPlugin(kind, nil)}
}

// VersionedPlugins returns the map the host puts in
// plugin.ClientConfig.VersionedPlugins for a plugin of kind: every contract
// version this SDK speaks, each with its plugin set. It returns nil for an
// unknown kind.
func VersionedPlugins(kind string) map[int]plugin.PluginSet {
	return InstancePlugins(kind, "")
}

// InstancePlugins is VersionedPlugins for the plugin instance the host
// calls instance (shard1, cache): the clients it dispenses name the
// instance in their errors (`clickshard plugin "shard1" record: …`), so
// that one failing instance of several of a kind is told apart. An empty
// instance is VersionedPlugins.
func InstancePlugins(kind, instance string) map[int]plugin.PluginSet {
	if !slices.Contains(Kinds(), kind) {
		return nil
	}
	return map[int]plugin.PluginSet{ContractVersion: {kind: &grpcPlugin{kind: kind, instance: instance}}}
}
