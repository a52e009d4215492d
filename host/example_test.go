package host_test

import (
	"context"
	"fmt"
	"log"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/host"
)

// ExampleNew runs a counter and two click shards as plugin processes and
// batches clicks over the shards. In curtain, SelfExec is the curtain
// binary and its hidden plugin subcommand; here it is the test plugin.
func ExampleNew() {
	ctx := context.Background()
	h, err := host.New(host.Config{Plugins: []host.PluginConfig{
		{Kind: "counter", Builtin: "memory"},
		{Kind: "clickshard", Builtin: "memory"},
		{Kind: "clickshard", Builtin: "memory"},
	}}, host.Options{SelfExec: host.PluginCommandForTest()})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)

	block, err := h.Counter().Reserve(ctx, core.ReserveRequest{Size: 100, Floor: 2000})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("first code:", core.ShortCode(block.First))

	clicks, err := host.NewClickBatcher(h.Shards(), nil, host.BatcherConfig{}, host.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := clicks.Record(ctx, core.Click{ID: "1", Code: "d5DnL5", Visitor: "v", At: core.Now()}); err != nil {
		log.Fatal(err)
	}
	if err := clicks.Close(ctx); err != nil {
		log.Fatal(err)
	}
	for _, s := range h.Status() {
		fmt.Println(s.Name, s.Kind, s.Source, s.Healthy)
	}
	// Output:
	// first code: 0000wh
	// counter counter builtin memory true
	// shard0 clickshard builtin memory true
	// shard1 clickshard builtin memory true
}
