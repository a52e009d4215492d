package app

import (
	"testing"

	"github.com/curtainhq/curtain/cmd/curtain/config"
)

// TestStreamOf: the consumer_group.created line names the click streams
// of a built-in redis shard, after its key prefix, and no streams for the
// shards that keep none there (memory, postgres) or whose streams the host
// does not know (an external plugin). It used to name stream:clicks:* for
// every shard.
func TestStreamOf(t *testing.T) {
	of := streamOf(config.Config{Plugins: config.Plugins{Shards: []config.Plugin{
		{Name: "mem", Builtin: "memory"},
		{Builtin: "redis"}, // named shard1 by the host
		{Name: "prefixed", Builtin: "redis", Settings: map[string]any{"key_prefix": "one:"}},
		{Name: "pg", Builtin: "postgres"},
		{Name: "ext", Path: "/opt/curtain-shard"},
	}}})
	for shard, want := range map[string]string{"mem": "", "shard1": "stream:clicks:*", "prefixed": "one:stream:clicks:*", "pg": "", "ext": ""} {
		if got := of(shard); got != want {
			t.Errorf("streamOf(%s) = %q, want %q", shard, got, want)
		}
	}
}
