// Command testplugin serves the memory plugins for the host's tests. It
// follows the argv convention of the built-in plugins the host starts by
// re-executing curtain (`curtain __plugin <kind> <builtin>`): run as
// `testplugin <kind> <name>`, and with no arguments (as an external plugin
// with a path) it serves a memory counter.
//
// Names:
//   - memory: the memory implementation of the kind;
//   - liar: a memory cache, whatever kind was asked for;
//   - floored: a counter that takes settings {"floor": N} and never hands
//     out a value at or below N;
//   - sick: a memory counter whose health check reports its (imaginary)
//     backing service down;
//   - crash: exits at once, before the handshake;
//   - nohealth: a memory counter that does not answer the gRPC health
//     service;
//   - slowhealth: a memory counter whose health checks take 3s (its other
//     calls are fast);
//   - stuckcache: a memory cache whose Get and Set never answer (until
//     the call's deadline), while its health checks do;
//   - fileshard: a memory click shard that takes settings {"dir": D}: its
//     health check reports its backing service down while D/down exists,
//     and it is durable (CapDurable) while D/durable exists.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/memory"
	"github.com/curtainhq/curtain/plugins/sdk"
)

func main() {
	kind, name := sdk.KindCounter, "memory"
	if len(os.Args) == 3 {
		kind, name = os.Args[1], os.Args[2]
	}
	p := sdk.Plugin{Name: "test-" + name, Version: "0.0.1-test"}
	switch name {
	case "memory":
	case "liar":
		kind = sdk.KindCache
	case "floored":
		p.Counter = &flooredCounter{Counter: memory.NewCounter()}
		sdk.Serve(p)
		return
	case "sick":
		p.Counter = sickCounter{memory.NewCounter()}
		sdk.Serve(p)
		return
	case "nohealth", "slowhealth":
		p.Counter = memory.NewCounter()
		serveWithHealth(p, name == "slowhealth")
		return
	case "stuckcache":
		p.Cache = stuckCache{memory.NewCache()}
		sdk.Serve(p)
		return
	case "fileshard":
		p.ClickShard = &fileShard{ClickShard: memory.NewClickShard()}
		sdk.Serve(p)
		return
	case "crash":
		fmt.Fprintln(os.Stderr, "testplugin: crashing on purpose")
		os.Exit(3)
	default:
		fmt.Fprintf(os.Stderr, "testplugin: unknown plugin %q\n", name)
		os.Exit(2)
	}
	switch kind {
	case sdk.KindCounter:
		p.Counter = memory.NewCounter()
	case sdk.KindClickShard:
		p.ClickShard = memory.NewClickShard()
	case sdk.KindCache:
		p.Cache = memory.NewCache()
	case sdk.KindAlertSink:
		p.AlertSink = memory.NewAlertSink()
	default:
		fmt.Fprintf(os.Stderr, "testplugin: unknown kind %q\n", kind)
		os.Exit(2)
	}
	sdk.Serve(p)
}

// flooredCounter is a memory counter configured with a floor.
type flooredCounter struct {
	*memory.Counter
	floor int64
}

func (c *flooredCounter) Configure(_ context.Context, settings []byte) error {
	var s struct {
		Floor int64 `json:"floor"`
	}
	if len(settings) > 0 {
		if err := json.Unmarshal(settings, &s); err != nil {
			return sdk.InvalidSetting("floor", "settings are not a JSON object: %v", err)
		}
	}
	if s.Floor < 0 {
		return sdk.InvalidSetting("floor", "floor %d is negative", s.Floor)
	}
	c.floor = s.Floor
	sdk.Logger().Info("configured", "floor", s.Floor)
	return nil
}

func (c *flooredCounter) Reserve(ctx context.Context, req core.ReserveRequest) (core.Block, error) {
	req.Floor = max(req.Floor, c.floor)
	return c.Counter.Reserve(ctx, req)
}

// sickCounter is a memory counter whose backing service is always down.
type sickCounter struct{ *memory.Counter }

func (sickCounter) Ping(context.Context) error {
	return fmt.Errorf("backing service: %w", core.ErrUnavailable)
}

// serveWithHealth serves p with its health checks answered Unimplemented
// (slow false) or only after 3s (slow true).
func serveWithHealth(p sdk.Plugin, slow bool) {
	cfg, err := sdk.ServeConfig(p)
	if err != nil {
		panic(err)
	}
	next := cfg.GRPCServer
	cfg.GRPCServer = func(opts []grpc.ServerOption) *grpc.Server {
		return next(append(opts, grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if info.FullMethod != grpc_health_v1.Health_Check_FullMethodName {
				return handler(ctx, req)
			}
			if !slow {
				return nil, status.Error(codes.Unimplemented, "unknown service grpc.health.v1.Health")
			}
			time.Sleep(3 * time.Second)
			return handler(ctx, req)
		})))
	}
	plugin.Serve(cfg)
}

// stuckCache is a memory cache whose reads and writes hang.
type stuckCache struct{ *memory.Cache }

func (stuckCache) Get(ctx context.Context, keys []string) (map[string][]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (stuckCache) Set(ctx context.Context, entries []core.CacheEntry) error {
	<-ctx.Done()
	return ctx.Err()
}

// fileShard is a memory click shard whose health and durability follow
// files in a directory, so that a test can change them while it runs.
type fileShard struct {
	*memory.ClickShard
	dir string
}

func (f *fileShard) Configure(_ context.Context, settings []byte) error {
	var s struct {
		Dir string `json:"dir"`
	}
	if err := json.Unmarshal(settings, &s); err != nil || s.Dir == "" {
		return sdk.InvalidSetting("dir", "want {\"dir\": a directory}")
	}
	f.dir = s.Dir
	return nil
}

func (f *fileShard) exists(name string) bool {
	_, err := os.Stat(filepath.Join(f.dir, name))
	return err == nil
}

func (f *fileShard) Ping(context.Context) error {
	if f.exists("down") {
		return fmt.Errorf("backing service: %w", core.ErrUnavailable)
	}
	return nil
}

func (f *fileShard) Durable() bool { return f.exists("durable") }
