package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
	"github.com/hashicorp/go-plugin"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// instance is one supervised plugin instance. Its current connection is
// swapped on restart; handles read it on every call.
type instance struct {
	h      *Host
	cfg    PluginConfig
	source string
	log    *slog.Logger

	cur      atomic.Pointer[pluginConn]
	restarts atomic.Int64
	kick     chan struct{}

	// healthMu guards the health the instance reports.
	healthMu sync.Mutex
	health   health

	// killMu guards the clients to kill on Close, including one being
	// started.
	killMu  sync.Mutex
	clients map[*plugin.Client]bool

	up        prometheus.Gauge
	restartsM prometheus.Counter

	// breaker fails the calls of a cache that stopped answering at once;
	// nil for the other kinds.
	breaker *breaker
}

// health is what an instance reports about itself in PluginStatus.
type health struct {
	state   string
	healthy bool
	reason  string
	since   time.Time
}

// setHealth records the instance's state and health and logs changes of
// health; reason is empty when healthy.
func (in *instance) setHealth(state string, healthy bool, reason string) {
	in.healthMu.Lock()
	old := in.health
	changed := old.healthy != healthy || old.reason != reason || old.state != state
	if changed {
		in.health = health{state: state, healthy: healthy, reason: reason, since: time.Now()}
	}
	in.healthMu.Unlock()
	in.up.Set(boolGauge(healthy))
	switch {
	case !changed || state != StateRunning || old.state != StateRunning:
	case healthy && !old.healthy:
		in.log.Info("plugin healthy again")
	case !healthy && old.reason != reason:
		in.log.Warn("plugin unhealthy", "reason", reason)
	}
}

// pluginConn is one running plugin process and the clients on it.
type pluginConn struct {
	client *plugin.Client
	conn   *grpc.ClientConn
	sdk    sdk.Client
	info   sdk.Info
	pid    int
	// durable is a click shard's CapDurable, asked again whenever the
	// shard turns healthy: its backing service may have come back with
	// other persistence settings, or been reached for the first time.
	durable atomic.Bool
}

func newInstance(h *Host, p PluginConfig) *instance {
	in := &instance{
		h:         h,
		cfg:       p,
		source:    p.Source(),
		log:       h.opts.logger().With("plugin", p.Name, "kind", p.Kind),
		kick:      make(chan struct{}, 1),
		clients:   map[*plugin.Client]bool{},
		up:        h.m.up.WithLabelValues(p.Kind, p.Name),
		restartsM: h.m.restarts.WithLabelValues(p.Kind, p.Name),
	}
	if p.Kind == sdk.KindCache {
		in.breaker = &breaker{rest: breakerRest}
	}
	in.setHealth(StateRestarting, false, "starting")
	return in
}

func (in *instance) setConn(c *pluginConn) {
	if in.breaker != nil {
		in.breaker.reset()
	}
	in.cur.Store(c)
	in.setHealth(StateRunning, true, "")
}

// start launches (or reattaches to) the plugin, checks its identity and
// configures it.
func (in *instance) start(ctx context.Context) (*pluginConn, error) {
	var cmd *exec.Cmd
	if in.cfg.Reattach == "" {
		argv := []string{in.cfg.Path}
		if in.cfg.Builtin != "" {
			argv = append(append([]string(nil), in.h.opts.SelfExec...), in.cfg.Kind, in.cfg.Builtin)
		}
		cmd = exec.Command(argv[0], argv[1:]...)
		cmd.Env = sdk.PluginEnv(os.Environ(), append(slices.Clone(sdk.EnvAllowList), in.cfg.PassEnv...),
			sdk.LogLevelEnv+"="+pluginLogLevel(in.log))
	}
	cc := sdk.LaunchConfig(in.cfg.Kind, cmd, in.cfg.StartTimeout)
	// The instance's calls fail naming it (shard1), not just its kind.
	cc.VersionedPlugins = sdk.InstancePlugins(in.cfg.Kind, in.cfg.Name)
	if cmd != nil {
		sdk.RouteLogs(cc, newHCLogger(in.log))
	} else {
		cc.Logger = newHCLogger(in.log)
	}
	switch {
	case in.cfg.Reattach != "":
		rc, err := parseReattach(in.cfg.Reattach)
		if err != nil {
			return nil, fmt.Errorf("plugin %q: %w", in.cfg.Name, err)
		}
		cc.Reattach = rc
		// A reattached client does not negotiate: pick the plugin set of
		// the version the configuration names.
		if rc.ProtocolVersion == 0 {
			rc.ProtocolVersion = sdk.ContractVersion
		}
		set, ok := cc.VersionedPlugins[rc.ProtocolVersion]
		if !ok {
			return nil, fmt.Errorf("plugin %q: reattach protocol version %d is not one the host speaks (%d)", in.cfg.Name, rc.ProtocolVersion, sdk.ContractVersion)
		}
		cc.Plugins = set
		// AutoMTLS needs a process the host started.
		cc.AutoMTLS = false
	case in.cfg.SHA256 != "":
		sum, _ := hex.DecodeString(in.cfg.SHA256) // checked by validate
		cc.SecureConfig = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}

	client := plugin.NewClient(cc)
	if !in.track(client) {
		in.stop(client)
		return nil, fmt.Errorf("plugin %q: host closed: %w", in.cfg.Name, core.ErrUnavailable)
	}
	fail := func(err error) (*pluginConn, error) {
		in.untrack(client)
		in.stop(client)
		if tail := sdk.StderrTail(cc); tail != "" && errors.Is(err, sdk.ErrNotAPlugin) {
			err = fmt.Errorf("%w; its stderr ended with: %s", err, tail)
		}
		return nil, fmt.Errorf("plugin %q (%s %s): %w", in.cfg.Name, in.cfg.Kind, in.source, err)
	}
	rpc, err := client.Client()
	if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
		return fail(fmt.Errorf("executable %s does not have the configured SHA-256 %s (%s): refusing to start it", in.cfg.Path, in.cfg.SHA256, fileSHA256(in.cfg.Path)))
	}
	if err != nil {
		return fail(fmt.Errorf("start: %w", sdk.ExplainStart(err)))
	}
	gc, ok := rpc.(*plugin.GRPCClient)
	if !ok {
		return fail(fmt.Errorf("plugin speaks %T, want gRPC", rpc))
	}
	raw, err := rpc.Dispense(in.cfg.Kind)
	if err != nil {
		return fail(fmt.Errorf("dispense %s: %w", in.cfg.Kind, err))
	}
	sc, ok := raw.(sdk.Client)
	if !ok {
		return fail(fmt.Errorf("dispensed %T, want an sdk.Client", raw))
	}

	callCtx, cancel := context.WithTimeout(ctx, in.cfg.CallTimeout)
	defer cancel()
	info, err := sdk.AskInfo(callCtx, sc, gc.Conn)
	if err != nil {
		return fail(fmt.Errorf("info: %w", err))
	}
	if err := info.Compatible(in.cfg.Kind); err != nil {
		return fail(fmt.Errorf("refusing plugin: %w", err))
	}
	if err := sc.Configure(callCtx, in.cfg.Settings); err != nil {
		return fail(err) // the client names the plugin and the call
	}
	if _, err := sdk.CheckHealth(callCtx, gc.Conn); errors.Is(err, sdk.ErrNoHealthService) {
		return fail(fmt.Errorf("refusing plugin: %w", err))
	}
	if in.cfg.Kind == sdk.KindClickShard {
		// Whether a shard is durable may depend on its settings, and on
		// its backing service, which the health check may have reached
		// for the first time.
		if info, err = sdk.AskInfo(callCtx, sc, gc.Conn); err != nil {
			return fail(fmt.Errorf("info after configure: %w", err))
		}
	}

	c := &pluginConn{client: client, conn: gc.Conn, sdk: sc, info: info}
	c.durable.Store(info.Has(sdk.CapDurable))
	if rc := client.ReattachConfig(); rc != nil {
		c.pid = rc.Pid
	}
	in.log.Info("plugin started", "name", info.Name, "version", info.Version, "pid", c.pid)
	return c, nil
}

// reattachJSON is the JSON shape of a go-plugin reattach configuration.
type reattachJSON struct {
	Protocol        plugin.Protocol
	ProtocolVersion int
	Pid             int
	Test            bool
	Addr            struct {
		Network string
		String  string
	}
}

func parseReattach(s string) (*plugin.ReattachConfig, error) {
	var r reattachJSON
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, fmt.Errorf("parse reattach config: %w", err)
	}
	var addr net.Addr
	var err error
	switch r.Addr.Network {
	case "unix":
		addr, err = net.ResolveUnixAddr("unix", r.Addr.String)
	case "tcp":
		addr, err = net.ResolveTCPAddr("tcp", r.Addr.String)
	default:
		err = fmt.Errorf("network %q is not unix or tcp", r.Addr.Network)
	}
	if err != nil {
		return nil, fmt.Errorf("parse reattach config: address: %w", err)
	}
	if r.Protocol == "" {
		r.Protocol = plugin.ProtocolGRPC
	}
	if r.Protocol != plugin.ProtocolGRPC {
		return nil, fmt.Errorf("parse reattach config: protocol %q, want grpc", r.Protocol)
	}
	if r.Pid == 0 && !r.Test {
		return nil, errors.New("parse reattach config: no Pid")
	}
	return &plugin.ReattachConfig{Protocol: r.Protocol, ProtocolVersion: r.ProtocolVersion, Addr: addr, Pid: r.Pid, Test: r.Test}, nil
}

// track records client for killing on Close; it reports false once the
// host is closing.
func (in *instance) track(c *plugin.Client) bool {
	in.killMu.Lock()
	defer in.killMu.Unlock()
	if in.clients == nil {
		return false
	}
	in.clients[c] = true
	return true
}

func (in *instance) untrack(c *plugin.Client) {
	in.killMu.Lock()
	defer in.killMu.Unlock()
	delete(in.clients, c)
}

// kill stops every process of the instance and refuses new ones.
func (in *instance) kill() {
	in.killMu.Lock()
	clients := in.clients
	in.clients = nil
	in.killMu.Unlock()
	in.cur.Store(nil)
	in.setHealth(StateStopped, false, "host closed")
	for c := range clients {
		if in.cfg.Reattach != "" {
			// Kill leaves a plugin in test mode running and connected.
			// The host did not start it, so it only hangs up (closing the
			// go-plugin client would also shut the plugin down).
			if rpc, err := c.Client(); err == nil {
				if gc, ok := rpc.(*plugin.GRPCClient); ok {
					_ = gc.Conn.Close()
				}
			}
		}
		in.stop(c)
	}
}

// killGrace is how long a plugin process has to exit once asked to
// before the host kills it outright.
const killGrace = 2 * time.Second

// stop ends the process of c. go-plugin's Kill asks the plugin to shut
// down and waits for the answer without a bound, so a hung plugin (one
// restarted because its health checks went unanswered) would keep its
// process, and the host's Close would wait for it forever: after
// killGrace, a process the host started is killed outright, which ends
// that wait.
func (in *instance) stop(c *plugin.Client) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Kill()
	}()
	select {
	case <-done:
		return
	case <-time.After(killGrace):
	}
	if rc := c.ReattachConfig(); in.cfg.Reattach == "" && rc != nil && rc.Pid > 0 {
		if p, err := os.FindProcess(rc.Pid); err == nil {
			in.log.Warn("plugin did not stop when asked: killing it", "pid", rc.Pid)
			_ = p.Kill()
		}
	}
	<-done
}

// fileSHA256 describes the SHA-256 of the file at path, so that a refusal
// shows whether the configured sum has a typo or the file changed.
func fileSHA256(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err.Error()
	}
	return "it has " + hex.EncodeToString(h.Sum(nil))
}

// poke asks the supervisor to check the instance now.
func (in *instance) poke() {
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

// supervise checks the instance every HealthInterval (or when poked). It
// restarts the instance at once when its process exited, and when its
// health checks went unanswered HealthFailures times in a row for at
// least HealthGrace: a live but slow plugin is reported unhealthy, with
// the reason, and kept. A plugin that answers NOT_SERVING (its backing
// service is down) is reported unhealthy but kept too: restarting it
// would not help.
func (in *instance) supervise() {
	ctx := in.h.runCtx
	cfg := in.h.cfg
	t := time.NewTicker(cfg.HealthInterval)
	defer t.Stop()
	failures := 0
	var failingSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-in.kick:
		}
		c := in.cur.Load()
		if c == nil {
			in.restart(ctx, "no process")
			failures = 0
			continue
		}
		if c.client.Exited() {
			in.restart(ctx, "process exited")
			failures = 0
			continue
		}
		h, err := in.check(ctx, c)
		if err != nil {
			if failures == 0 {
				failingSince = time.Now()
			}
			failures++
			in.setHealth(StateRunning, false, err.Error())
			if failures >= cfg.HealthFailures && time.Since(failingSince) >= cfg.HealthGrace {
				in.restart(ctx, fmt.Sprintf("health check unanswered %d times in %v: %v",
					failures, time.Since(failingSince).Round(time.Millisecond), err))
				failures = 0
			}
			continue
		}
		failures = 0
		if h == sdk.NotServing {
			in.setHealth(StateRunning, false, "health check answers NOT_SERVING: the plugin reports its backing service down")
			continue
		}
		if in.cfg.Kind == sdk.KindClickShard && !in.isHealthy() {
			in.askDurable(ctx, c)
		}
		in.setHealth(StateRunning, true, "")
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// isHealthy reports the health last recorded by setHealth.
func (in *instance) isHealthy() bool {
	in.healthMu.Lock()
	defer in.healthMu.Unlock()
	return in.health.healthy
}

// askDurable asks a click shard for its capabilities again and records
// whether it is durable; on an error it keeps the last answer.
func (in *instance) askDurable(ctx context.Context, c *pluginConn) {
	ctx, cancel := context.WithTimeout(ctx, in.cfg.CallTimeout)
	defer cancel()
	info, err := sdk.AskInfo(ctx, c.sdk, c.conn)
	if err != nil {
		in.log.Warn("plugin info unanswered: keeping its durability", "error", err)
		return
	}
	durable := info.Has(sdk.CapDurable)
	if c.durable.Swap(durable) != durable {
		in.log.Info("click shard durability changed", "durable", durable)
	}
}

// check runs the gRPC health check, bounded by the call timeout.
func (in *instance) check(ctx context.Context, c *pluginConn) (sdk.Health, error) {
	ctx, cancel := context.WithTimeout(ctx, in.cfg.CallTimeout)
	defer cancel()
	return sdk.CheckHealth(ctx, c.conn)
}

// restart replaces the instance's process, retrying with capped, jittered
// exponential backoff until it succeeds or ctx ends. Calls fail with
// core.ErrUnavailable meanwhile.
func (in *instance) restart(ctx context.Context, reason string) {
	old := in.cur.Swap(nil)
	in.setHealth(StateRestarting, false, reason)
	in.log.Warn("plugin down: restarting", "reason", reason)
	if old != nil {
		in.untrack(old.client)
		// A hung process may take a while to die; do not wait for it.
		in.h.wg.Go(func() { in.stop(old.client) })
	}
	backoff := in.h.cfg.RestartMin
	for attempt := 1; ; attempt++ {
		wait := backoff/2 + rand.N(backoff/2+1)
		if !sleep(ctx, wait) {
			return
		}
		c, err := in.start(ctx)
		if err == nil {
			in.setConn(c)
			in.restarts.Add(1)
			in.restartsM.Inc()
			in.log.Info("plugin restarted", "attempt", attempt)
			return
		}
		if ctx.Err() != nil {
			return
		}
		in.setHealth(StateRestarting, false, fmt.Sprintf("%s; restart attempt %d failed: %v", reason, attempt, err))
		level := slog.LevelDebug
		if attempt == 1 {
			level = slog.LevelWarn
		}
		in.log.Log(ctx, level, "plugin restart failed: retrying", "attempt", attempt, "error", err)
		backoff = min(2*backoff, in.h.cfg.RestartMax)
	}
}

func (in *instance) status() PluginStatus {
	in.healthMu.Lock()
	h := in.health
	in.healthMu.Unlock()
	s := PluginStatus{
		Name:     in.cfg.Name,
		Kind:     in.cfg.Kind,
		Source:   in.source,
		State:    h.state,
		Healthy:  h.healthy,
		Reason:   h.reason,
		Since:    h.since,
		Restarts: in.restarts.Load(),
	}
	if c := in.cur.Load(); c != nil {
		s.Version = c.info.Version
		s.PID = c.pid
	}
	return s
}
