package sdk

import (
	"context"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/curtainhq/curtain/core"
	alertsinkv1 "github.com/curtainhq/curtain/plugins/proto/alertsink/v1"
	cachev1 "github.com/curtainhq/curtain/plugins/proto/cache/v1"
	clickshardv1 "github.com/curtainhq/curtain/plugins/proto/clickshard/v1"
	counterv1 "github.com/curtainhq/curtain/plugins/proto/counter/v1"
	pluginv1 "github.com/curtainhq/curtain/plugins/proto/plugin/v1"
)

// server is the plugin side shared by every kind: Info and Configure.
// Each kind's server embeds it, and embeds the generated Unsafe interface
// rather than the Unimplemented struct (whose Info and Configure would
// clash with these): the SDK ships with the contract, so a service method
// it does not implement is a compile error, not an Unimplemented answer.
type server struct {
	id   Info
	impl any
}

// Info reports the plugin's identity.
func (s *server) Info(context.Context, *pluginv1.InfoRequest) (*pluginv1.InfoResponse, error) {
	return &pluginv1.InfoResponse{
		Name:            s.id.Name,
		Kind:            s.id.Kind,
		Version:         s.id.Version,
		ContractVersion: uint32(s.id.Contract),
		Capabilities:    s.capabilities(),
		SettingsSchema:  s.id.SettingsSchema,
	}, nil
}

// capabilities returns the static capabilities and, for a Durabler that
// says so now, CapDurable.
func (s *server) capabilities() []string {
	d, ok := s.impl.(Durabler)
	if !ok || !d.Durable() || slices.Contains(s.id.Capabilities, CapDurable) {
		return s.id.Capabilities
	}
	caps := append(slices.Clone(s.id.Capabilities), CapDurable)
	slices.Sort(caps)
	return caps
}

// Configure hands the implementation its settings.
func (s *server) Configure(ctx context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	var err error
	if c, ok := s.impl.(Configurer); ok {
		err = c.Configure(ctx, req.GetSettingsJson())
	} else {
		err = checkSettings(req.GetSettingsJson())
	}
	if err != nil {
		return nil, EncodeError(err)
	}
	return &pluginv1.ConfigureResponse{}, nil
}

type counterServer struct {
	counterv1.UnsafeCounterServer
	*server
	impl core.Counter
}

func (s *counterServer) Reserve(ctx context.Context, req *counterv1.ReserveRequest) (*counterv1.ReserveResponse, error) {
	b, err := s.impl.Reserve(ctx, core.ReserveRequest{Size: req.GetSize(), Floor: req.GetFloor()})
	if err != nil {
		return nil, EncodeError(err)
	}
	return &counterv1.ReserveResponse{First: b.First, Size: b.Size}, nil
}

type clickShardServer struct {
	clickshardv1.UnsafeClickShardServer
	*server
	impl core.ClickShard
}

func (s *clickShardServer) Record(ctx context.Context, req *clickshardv1.RecordRequest) (*clickshardv1.RecordResponse, error) {
	if err := s.impl.Record(ctx, clicksFromProto(req.GetClicks())); err != nil {
		return nil, EncodeError(err)
	}
	return &clickshardv1.RecordResponse{}, nil
}

func (s *clickShardServer) Stats(ctx context.Context, req *clickshardv1.StatsRequest) (*clickshardv1.StatsResponse, error) {
	st, err := s.impl.Stats(ctx, statsRequestFromProto(req))
	if err != nil {
		return nil, EncodeError(err)
	}
	return statsToProto(st), nil
}

func (s *clickShardServer) Read(ctx context.Context, req *clickshardv1.ReadRequest) (*clickshardv1.ReadResponse, error) {
	ds, err := s.impl.Read(ctx, readRequestFromProto(req))
	if err != nil {
		return nil, EncodeError(err)
	}
	return &clickshardv1.ReadResponse{Deliveries: deliveriesToProto(ds)}, nil
}

// Delete serves ClickShard.Delete for an implementation that is a
// core.ClickDeleter; any other answers UNIMPLEMENTED.
func (s *clickShardServer) Delete(ctx context.Context, req *clickshardv1.DeleteRequest) (*clickshardv1.DeleteResponse, error) {
	d, ok := s.impl.(core.ClickDeleter)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this click shard does not delete codes")
	}
	if err := d.Delete(ctx, req.GetCodes()); err != nil {
		return nil, EncodeError(err)
	}
	return &clickshardv1.DeleteResponse{}, nil
}

func (s *clickShardServer) Ack(ctx context.Context, req *clickshardv1.AckRequest) (*clickshardv1.AckResponse, error) {
	if err := s.impl.Ack(ctx, ackRequestFromProto(req)); err != nil {
		return nil, EncodeError(err)
	}
	return &clickshardv1.AckResponse{}, nil
}

type cacheServer struct {
	cachev1.UnsafeCacheServer
	*server
	impl core.Cache
}

func (s *cacheServer) Get(ctx context.Context, req *cachev1.GetRequest) (*cachev1.GetResponse, error) {
	m, err := s.impl.Get(ctx, req.GetKeys())
	if err != nil {
		return nil, EncodeError(err)
	}
	return &cachev1.GetResponse{Entries: m}, nil
}

func (s *cacheServer) Set(ctx context.Context, req *cachev1.SetRequest) (*cachev1.SetResponse, error) {
	if err := s.impl.Set(ctx, entriesFromProto(req.GetEntries())); err != nil {
		return nil, EncodeError(err)
	}
	return &cachev1.SetResponse{}, nil
}

func (s *cacheServer) Delete(ctx context.Context, req *cachev1.DeleteRequest) (*cachev1.DeleteResponse, error) {
	if err := s.impl.Delete(ctx, req.GetKeys()); err != nil {
		return nil, EncodeError(err)
	}
	return &cachev1.DeleteResponse{}, nil
}

// Watch streams the implementation's invalidations, when it is a
// core.CacheWatcher; otherwise it answers UNIMPLEMENTED.
func (s *cacheServer) Watch(_ *cachev1.WatchRequest, stream cachev1.Cache_WatchServer) error {
	w, ok := s.impl.(core.CacheWatcher)
	if !ok {
		return status.Error(codes.Unimplemented, "this cache does not report invalidations")
	}
	err := w.WatchInvalidations(stream.Context(), func(inv core.Invalidation) error {
		return stream.Send(&cachev1.WatchEvent{Reset_: inv.Reset, Keys: inv.Keys})
	})
	if err != nil && stream.Context().Err() == nil {
		return EncodeError(err)
	}
	return nil
}

type alertSinkServer struct {
	alertsinkv1.UnsafeAlertSinkServer
	*server
	impl core.AlertSink
}

func (s *alertSinkServer) Send(ctx context.Context, req *alertsinkv1.SendRequest) (*alertsinkv1.SendResponse, error) {
	if err := s.impl.Send(ctx, alertsFromProto(req.GetAlerts())); err != nil {
		return nil, EncodeError(err)
	}
	return &alertsinkv1.SendResponse{}, nil
}
