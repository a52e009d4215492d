// Command embedhost shows how to embed Curtain in a program of your own
// through host/app, the package curtain serve runs on: it assembles an
// application (a SQLite store, an external counter plugin, and the memory
// cache and click shard, which it serves itself by re-executing its own
// binary), reserves a block of counter values through the counter plugin,
// prints them as short codes, and closes the application, which stops the
// plugin processes and the store.
//
//	go build -o /tmp/filecounter ./examples/filecounter
//	go run ./examples/embedhost -plugin /tmp/filecounter -n 5
//
// The host does for you what it does inside `curtain serve`: it checks the
// plugin's identity and optional SHA-256, hands it its settings, restarts
// it with backoff if it dies, and gives every call a deadline, so the rest
// of the program sees a plain core.Counter.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/host/app"
	"github.com/curtainhq/curtain/plugins/memory"
	"github.com/curtainhq/curtain/plugins/sdk"
)

func main() {
	// The application re-executes this binary to serve the built-in
	// memory plugins, as curtain does with `curtain __plugin KIND NAME`.
	if len(os.Args) == 4 && os.Args[1] == pluginCommand {
		os.Exit(servePlugin(os.Args[2], os.Args[3]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "embedhost:", err)
		os.Exit(1)
	}
}

// pluginCommand is the argument through which the application re-executes
// this binary for a built-in plugin.
const pluginCommand = "__plugin"

// servePlugin serves the memory plugin of kind over go-plugin and returns
// the exit code.
func servePlugin(kind, name string) int {
	p := sdk.Plugin{Name: "embedhost-" + name + "-" + kind, Version: "0.1.0"}
	switch {
	case name != "memory":
		fmt.Fprintf(os.Stderr, "embedhost serves only the memory plugins, not %q\n", name)
		return 1
	case kind == sdk.KindCounter:
		p.Counter = memory.NewCounter()
	case kind == sdk.KindCache:
		p.Cache = memory.NewCache()
	case kind == sdk.KindClickShard:
		p.ClickShard = memory.NewClickShard()
	case kind == sdk.KindAlertSink:
		p.AlertSink = memory.NewAlertSink()
	}
	sdk.Serve(p)
	return 0
}

// run parses args, runs the host, and writes the reserved short codes to
// stdout, one a line, after a line naming the block. Diagnostics go to
// stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("embedhost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pluginPath := fs.String("plugin", "", "counter plugin executable, such as a build of examples/filecounter (required)")
	sum := fs.String("sha256", "", "the plugin executable's hex SHA-256; the host refuses another binary (optional)")
	defaultSettings, _ := json.Marshal(map[string]string{"path": filepath.Join(os.TempDir(), "curtain-embedhost", "counter")})
	settings := fs.String("settings", string(defaultSettings), "the plugin's settings, a JSON object")
	n := fs.Int64("n", 5, "how many short codes to reserve")
	floor := fs.Int64("floor", 0, "reserve values above this one")
	verbose := fs.Bool("v", false, "log the host's plugin management")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pluginPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return flag.ErrHelp
	}

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	// The embedded default, with the counter replaced by the external
	// plugin and the store in a directory of its own.
	dir, err := os.MkdirTemp("", "curtain-embedhost-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.Store.SQLitePath = filepath.Join(dir, "curtain.db")
	var pluginSettings map[string]any
	if err := json.Unmarshal([]byte(*settings), &pluginSettings); err != nil {
		return fmt.Errorf("-settings: %w", err)
	}
	cfg.Plugins.Counter = config.Plugin{Path: *pluginPath, SHA256: *sum, Settings: pluginSettings}
	cfg.Plugins.CallTimeout = 5 * time.Second
	if err := app.CheckPlugins(cfg); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	a, err := app.New(ctx, config.Loaded{Config: cfg}, app.Serve, app.Options{Logger: logger, SelfExec: []string{self, pluginCommand}})
	if err != nil {
		return fmt.Errorf("start application: %w", err)
	}
	defer func() {
		// Close even when ctx is already cancelled (Ctrl-C), with a bound.
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if cerr := a.Close(closeCtx); cerr != nil && err == nil {
			err = fmt.Errorf("close application: %w", cerr)
		}
	}()
	for _, s := range a.Plugins() {
		logger.Info("plugin running", "name", s.Name, "kind", s.Kind, "version", s.Version, "pid", s.PID)
	}

	b, err := a.Counter().Reserve(ctx, core.ReserveRequest{Size: *n, Floor: *floor})
	if err != nil {
		return fmt.Errorf("reserve %d codes: %w", *n, err)
	}
	fmt.Fprintf(stdout, "reserved %d..%d\n", b.First, b.First+b.Size-1)
	for v := b.First; v < b.First+b.Size; v++ {
		fmt.Fprintln(stdout, core.ShortCode(v))
	}
	return nil
}
