package host

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options carries what the host's components share. Its zero value works:
// logs are discarded and metrics are kept in a private registry.
type Options struct {
	// Logger receives the component's logs; nil discards them.
	Logger *slog.Logger
	// Registry receives the component's metrics; nil keeps them private.
	Registry *prometheus.Registry
	// SelfExec is the command that re-executes the curtain binary, for
	// example [os.Args[0], "__plugin"]. A built-in plugin of kind K named N
	// runs as SelfExec + [K, N]. Only [New] uses it.
	SelfExec []string
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o Options) registry() *prometheus.Registry {
	if o.Registry == nil {
		return prometheus.NewRegistry()
	}
	return o.Registry
}

// orDefault sets *v to d when *v is zero or negative: how every config
// of the package fills in what was left unset.
func orDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// sleep waits for d, or less when ctx ends first; it reports whether the
// full wait passed. A d of zero or less returns at once.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
