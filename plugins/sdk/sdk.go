package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/curtainhq/curtain/core"
)

// The four backend kinds. A kind's name is also the name under which the
// host dispenses it from a go-plugin client and the "kind" Info reports.
const (
	KindCounter    = "counter"
	KindClickShard = "clickshard"
	KindCache      = "cache"
	KindAlertSink  = "alertsink"
)

// Kinds returns the four kind names in a fixed order.
func Kinds() []string {
	return []string{KindCounter, KindClickShard, KindCache, KindAlertSink}
}

// ContractVersion is the version of the wire contract this SDK speaks
// (the plugins/proto/*/v1 packages). It is also the go-plugin protocol
// version negotiated through VersionedPlugins: a breaking contract change
// adds a v2 and a new protocol version next to this one.
const ContractVersion = 1

// Magic cookie shared by the host and every plugin. It is not a secret: it
// only stops a plugin binary from being run by hand by mistake.
const (
	MagicCookieKey   = "CURTAIN_PLUGIN"
	MagicCookieValue = "3c0e7a5e-curtain-backend-plugin"
)

// Handshake is the go-plugin handshake the host and every plugin use.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ContractVersion,
	MagicCookieKey:   MagicCookieKey,
	MagicCookieValue: MagicCookieValue,
}

// Capabilities the SDK reports in Info by itself.
const (
	// CapConfigure means the implementation accepts settings (it is a
	// Configurer). Without it, Configure accepts only empty settings.
	CapConfigure = "configure"
	// CapHealth means the implementation is a Pinger, so the plugin's gRPC
	// health check probes its backing service.
	CapHealth = "health"
	// CapInvalidations means a cache implementation is a
	// core.CacheWatcher: its Watch stream reports every Set and Delete.
	CapInvalidations = "invalidations"
	// CapDurable means a click-shard implementation's Record returns only
	// once the clicks are stored where a crash of the plugin or of its
	// backing service cannot take them (fsync'd, and acknowledged by a
	// replica where it has one). The SDK reports it when the
	// implementation is a Durabler whose Durable returns true; a
	// plugin's answer may change after Configure, and whenever its
	// health check turns healthy again: the host asks for Info again
	// then. In the durable click mode the host stores the
	// clicks of any other shard itself before it acknowledges them.
	CapDurable = "durable"
)

// Durabler is implemented by a click shard that can tell whether its
// Record is durable (CapDurable), which may depend on its settings and
// on how its backing service is configured.
type Durabler interface {
	// Durable reports whether a successful Record has stored its clicks
	// durably.
	Durable() bool
}

// LogLevelEnv names the environment variable that sets the level of the
// plugin's logger (trace, debug, info, warn, error); the default is info.
// The host sets it when it starts a plugin process.
const LogLevelEnv = "CURTAIN_PLUGIN_LOG_LEVEL"

// Info identifies a plugin, as its Info call reports it.
type Info struct {
	// Name is the plugin's own name ("file-counter").
	Name string
	// Kind is the kind it serves (KindCounter, ...).
	Kind string
	// Version is the plugin's release version, free-form.
	Version string
	// Contract is the wire contract version the plugin speaks.
	Contract int
	// Capabilities lists optional behaviour, such as CapConfigure.
	Capabilities []string
	// SettingsSchema is the JSON Schema of the plugin's settings object
	// (see SettingsSchema), empty when the plugin publishes none.
	SettingsSchema string
}

// Has reports whether the plugin advertises capability c.
func (i Info) Has(c string) bool { return slices.Contains(i.Capabilities, c) }

// Compatible reports whether a plugin with this Info can serve kind for
// this SDK; the error names the wanted and the reported kind and contract.
func (i Info) Compatible(kind string) error {
	if i.Kind != kind || i.Contract != ContractVersion {
		return fmt.Errorf("%w: plugin %q serves kind %q contract v%d, want kind %q contract v%d (%w)",
			ErrWrongKind, i.Name, i.Kind, i.Contract, kind, ContractVersion, core.ErrInvalid)
	}
	return nil
}

// Configurer is implemented by a plugin implementation that takes
// settings. Configure gets the settings JSON object from the host's
// configuration (possibly empty) and validates it; a bad setting is
// reported with InvalidSetting, naming the key. It is called before any
// other call but Info.
type Configurer interface {
	Configure(ctx context.Context, settings []byte) error
}

// Pinger is implemented by a plugin implementation that can check its
// backing service. The plugin's gRPC health check reports NOT_SERVING
// while Ping fails.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Closer is implemented by a plugin implementation that holds resources.
// Serve calls Close once serving has ended.
type Closer interface {
	Close() error
}

// Plugin describes the plugin a process serves: exactly one of Counter,
// ClickShard, Cache and AlertSink is set. The implementation may also be a
// Configurer, a Pinger and a Closer.
type Plugin struct {
	// Name is the plugin's name, reported by Info and used in logs.
	Name string
	// Version is the plugin's release version, reported by Info.
	Version string
	// Capabilities are reported by Info in addition to those the SDK
	// derives (CapConfigure, CapHealth).
	Capabilities []string
	// Settings is a value of the implementation's settings struct type
	// (for example mySettings{}), whose json tags name the keys: Info
	// publishes its schema, so that the host can check settings without
	// starting the plugin. Nil publishes none.
	Settings any

	// Counter, ClickShard, Cache and AlertSink hold the implementation
	// served: set exactly one of them.
	Counter    core.Counter
	ClickShard core.ClickShard
	Cache      core.Cache
	AlertSink  core.AlertSink

	// Logger receives the SDK's and go-plugin's own logs; nil means
	// Logger().
	Logger hclog.Logger
}

// kind returns the kind p serves and its implementation.
func (p Plugin) kind() (string, any, error) {
	var kinds []string
	var impl any
	if p.Counter != nil {
		kinds, impl = append(kinds, KindCounter), p.Counter
	}
	if p.ClickShard != nil {
		kinds, impl = append(kinds, KindClickShard), p.ClickShard
	}
	if p.Cache != nil {
		kinds, impl = append(kinds, KindCache), p.Cache
	}
	if p.AlertSink != nil {
		kinds, impl = append(kinds, KindAlertSink), p.AlertSink
	}
	switch len(kinds) {
	case 1:
		return kinds[0], impl, nil
	case 0:
		return "", nil, errors.New("sdk: plugin sets none of Counter, ClickShard, Cache, AlertSink")
	default:
		return "", nil, fmt.Errorf("sdk: plugin sets several kinds (%s), want exactly one", strings.Join(kinds, ", "))
	}
}

// Info returns what p's Info call reports, without serving it: for
// example to check settings with CheckSettings before starting p.
func (p Plugin) Info() (Info, error) {
	info, _, err := p.info()
	return info, err
}

// info returns what Info reports for p.
func (p Plugin) info() (Info, any, error) {
	kind, impl, err := p.kind()
	if err != nil {
		return Info{}, nil, err
	}
	if p.Name == "" {
		return Info{}, nil, errors.New("sdk: plugin has no Name")
	}
	caps := slices.Clone(p.Capabilities)
	if _, ok := impl.(Configurer); ok {
		caps = append(caps, CapConfigure)
	}
	if _, ok := impl.(Pinger); ok {
		caps = append(caps, CapHealth)
	}
	if _, ok := impl.(core.CacheWatcher); ok && kind == KindCache {
		caps = append(caps, CapInvalidations)
	}
	slices.Sort(caps)
	caps = slices.Compact(caps)
	return Info{Name: p.Name, Kind: kind, Version: p.Version, Contract: ContractVersion, Capabilities: caps,
		SettingsSchema: SettingsSchema(p.Settings)}, impl, nil
}

var defaultLogger = sync.OnceValue(func() hclog.Logger {
	return newLogger(os.Stderr, os.Getenv(LogLevelEnv))
})

func newLogger(w io.Writer, level string) hclog.Logger {
	lvl := hclog.LevelFromString(level)
	if lvl == hclog.NoLevel {
		lvl = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{
		Level:      lvl,
		Output:     w,
		JSONFormat: true,
	})
}

// Logger returns the logger plugin code logs through: JSON lines on
// stderr, which go-plugin forwards to the host, which files them under the
// plugin's name. Its level comes from LogLevelEnv.
func Logger() hclog.Logger { return defaultLogger() }

// ServeConfig returns the go-plugin configuration that serves p, for
// callers that drive plugin.Serve themselves (Serve and ServeTest use it).
// It serves the gRPC protocol only, through VersionedPlugins.
func ServeConfig(p Plugin) (*plugin.ServeConfig, error) {
	info, impl, err := p.info()
	if err != nil {
		return nil, err
	}
	logger := p.Logger
	if logger == nil {
		logger = Logger().Named(p.Name)
	}
	var interceptors []grpc.UnaryServerInterceptor
	if pinger, ok := impl.(Pinger); ok {
		interceptors = append(interceptors, healthInterceptor(pinger, logger))
	}
	return &plugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			ContractVersion: {info.Kind: newGRPCPlugin(info.Kind, &server{id: info, impl: impl})},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.InitialWindowSize(streamWindow), grpc.InitialConnWindowSize(connWindow))
			return grpc.NewServer(append(opts, grpc.ChainUnaryInterceptor(interceptors...))...)
		},
		Logger: logger,
	}, nil
}

// Serve serves p as a plugin process and returns when the host stops it;
// then it closes p's implementation if it is a Closer. It is the whole
// main of a plugin. Serve panics if p is malformed (no kind, several
// kinds, no name): that is a programming error found at start-up. Run by
// hand rather than by the host, it prints a notice and exits with status 1.
//
// On SIGTERM, or when the process that started it is gone (its parent
// changes), Serve stops gracefully: it lets calls in flight finish (for
// at most StopTimeout), closes the implementation and exits with status
// 0.
func Serve(p Plugin) {
	setPluginGC()
	cfg, err := ServeConfig(p)
	if err != nil {
		panic(err)
	}
	var (
		srv       atomic.Pointer[grpc.Server]
		inFlight  atomic.Int64
		closeOnce sync.Once
	)
	newServer := cfg.GRPCServer
	cfg.GRPCServer = func(opts []grpc.ServerOption) *grpc.Server {
		s := newServer(append(opts, grpc.ChainUnaryInterceptor(countCalls(&inFlight))))
		srv.Store(s)
		return s
	}
	go func() {
		reason := awaitStop(parentWatchInterval)
		cfg.Logger.Info("stopping", "reason", reason)
		if s := srv.Load(); s != nil {
			stopGracefully(s, &inFlight, StopTimeout)
		}
		closeOnce.Do(func() { closeImpl(p, cfg.Logger) })
		os.Exit(0)
	}()
	plugin.Serve(cfg)
	closeOnce.Do(func() { closeImpl(p, cfg.Logger) })
}

// StopTimeout bounds how long Serve waits for calls in flight when it
// stops on SIGTERM or the loss of its parent.
const StopTimeout = 5 * time.Second

// parentWatchInterval is how often Serve checks that its parent lives.
const parentWatchInterval = 500 * time.Millisecond

// awaitStop returns when the process gets SIGTERM or its parent process
// changes (the host died; on Linux the host also has it killed), and
// says which.
func awaitStop(every time.Duration) string {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	parent := os.Getppid()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-term:
			return "SIGTERM"
		case <-t.C:
			if os.Getppid() != parent {
				return "the host process is gone"
			}
		}
	}
}

// countCalls counts the unary calls in flight in n.
func countCalls(n *atomic.Int64) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		n.Add(1)
		defer n.Add(-1)
		return handler(ctx, req)
	}
}

// stopGracefully stops s once its unary calls in flight (counted in n)
// have finished, or after d. It does not wait for go-plugin's own
// streams, which last as long as the connection.
func stopGracefully(s *grpc.Server, n *atomic.Int64, d time.Duration) {
	go s.GracefulStop() // refuses new calls
	deadline := time.Now().Add(d)
	for n.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s.Stop()
}

// ServeTest serves p inside the calling process in go-plugin's test mode
// and returns the configuration a go-plugin client reattaches with
// (plugin.ClientConfig.Reattach). Serving ends when ctx is done; the
// returned channel is closed once it has ended and p's implementation has
// been closed if it is a Closer.
func ServeTest(ctx context.Context, p Plugin) (*plugin.ReattachConfig, <-chan struct{}, error) {
	cfg, err := ServeConfig(p)
	if err != nil {
		return nil, nil, err
	}
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	cfg.Test = &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattach, CloseCh: closed}
	done := make(chan struct{})
	go func() {
		defer close(done)
		plugin.Serve(cfg)
		<-closed
		closeImpl(p, cfg.Logger)
	}()
	select {
	case rc := <-reattach:
		return rc, done, nil
	case <-done:
		return nil, nil, errors.New("sdk: test plugin stopped before it was ready")
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("sdk: serve test plugin: %w", ctx.Err())
	}
}

func closeImpl(p Plugin, logger hclog.Logger) {
	_, impl, _ := p.kind()
	if c, ok := impl.(Closer); ok {
		if err := c.Close(); err != nil {
			logger.Error("close plugin", "error", err)
		}
	}
}

// healthInterceptor makes the standard health check of the plugin (service
// "" or go-plugin's "plugin") report NOT_SERVING while p.Ping fails. It
// logs the first failed check of a streak, with its error, and the
// recovery, not every check: the host checks twice a second, so a backend
// down for an hour logged 7,200 lines per process. (Only the first: the
// errors of a streak differ in such details as a local port.)
func healthInterceptor(p Pinger, logger hclog.Logger) grpc.UnaryServerInterceptor {
	var mu sync.Mutex
	failing := false
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if err != nil || info.FullMethod != grpc_health_v1.Health_Check_FullMethodName {
			return resp, err
		}
		r, ok := req.(*grpc_health_v1.HealthCheckRequest)
		if !ok || (r.GetService() != "" && r.GetService() != plugin.GRPCServiceName) {
			return resp, err
		}
		perr := p.Ping(ctx)
		mu.Lock()
		defer mu.Unlock()
		if perr != nil {
			if !failing {
				failing = true
				logger.Warn("health check failed", "error", perr)
			}
			return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_NOT_SERVING}, nil
		}
		if failing {
			failing = false
			logger.Info("health check passes again")
		}
		return resp, nil
	}
}

// checkSettings is Configure for an implementation that takes no
// settings: it accepts only an empty document or an empty JSON object.
func checkSettings(settings []byte) error {
	if len(strings.TrimSpace(string(settings))) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(settings, &m); err != nil {
		return InvalidSetting("", "settings are not a JSON object: %v", err)
	}
	for k := range m {
		return InvalidSetting(k, "unknown setting: the plugin takes no settings")
	}
	return nil
}

// pluginGCPercent is the garbage collector's target of a plugin process
// unless GOGC says otherwise. A plugin's live heap is a few megabytes while
// it allocates per call (protobuf messages, client commands), so with Go's
// default of 100 it collects many times a second: a quarter of a busy
// click shard's CPU went to allocation and marking. Four times the live
// heap is still only megabytes.
const pluginGCPercent = 400

// setPluginGC applies pluginGCPercent when GOGC is not set.
func setPluginGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(pluginGCPercent)
	}
}
