package redis

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"
	goredis "github.com/redis/go-redis/v9"
)

// UseLogger sends go-redis's own log lines (failed dials, pool events),
// which it otherwise prints to stderr, to l at debug level: a plugin
// already reports every failure to the host as an error.
func UseLogger(l hclog.Logger) {
	goredis.SetLogger(printfLogger{l})
}

type printfLogger struct{ l hclog.Logger }

func (p printfLogger) Printf(_ context.Context, format string, v ...any) {
	p.l.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)), "source", "go-redis")
}
