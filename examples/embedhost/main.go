// Command embedhost shows how to embed Curtain's plugin host in a program
// of your own: it starts an external counter plugin through host.New (no
// curtain binary, no built-in plugins), reserves a block of counter values
// through h.Counter(), prints them as short codes, and closes the host.
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

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/host"
	"github.com/curtainhq/curtain/plugins/sdk"
)

func main() {
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

	// One external counter plugin. A real program lists its click shards,
	// cache and alert sink here too; Builtin entries need Options.SelfExec.
	h, err := host.New(host.Config{
		Plugins: []host.PluginConfig{{
			Kind:        sdk.KindCounter,
			Path:        *pluginPath,
			SHA256:      *sum,
			Settings:    json.RawMessage(*settings),
			CallTimeout: 5 * time.Second,
		}},
	}, host.Options{Logger: logger})
	if err != nil {
		return fmt.Errorf("start host: %w", err)
	}
	defer func() {
		// Close even when ctx is already cancelled (Ctrl-C), with a bound.
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if cerr := h.Close(closeCtx); cerr != nil && err == nil {
			err = fmt.Errorf("close host: %w", cerr)
		}
	}()
	for _, s := range h.Status() {
		logger.Info("plugin running", "name", s.Name, "kind", s.Kind, "version", s.Version, "pid", s.PID)
	}

	b, err := h.Counter().Reserve(ctx, core.ReserveRequest{Size: *n, Floor: *floor})
	if err != nil {
		return fmt.Errorf("reserve %d codes: %w", *n, err)
	}
	fmt.Fprintf(stdout, "reserved %d..%d\n", b.First, b.First+b.Size-1)
	for v := b.First; v < b.First+b.Size; v++ {
		fmt.Fprintln(stdout, core.ShortCode(v))
	}
	return nil
}
