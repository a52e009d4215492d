package sdk_test

import (
	"context"
	"fmt"
	"log"
	"sync"

	"github.com/hashicorp/go-plugin"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// fileCounter stands for a third party's counter; a real one would keep
// its value in a file.
type fileCounter struct {
	mu   sync.Mutex
	next int64
}

func (c *fileCounter) Reserve(ctx context.Context, req core.ReserveRequest) (core.Block, error) {
	if req.Size < 1 {
		return core.Block{}, fmt.Errorf("reserve %d values: %w", req.Size, core.ErrInvalid)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next = max(c.next, req.Floor)
	b := core.Block{First: c.next + 1, Size: req.Size}
	c.next += req.Size
	return b, nil
}

// Configure makes fileCounter a sdk.Configurer.
func (c *fileCounter) Configure(ctx context.Context, settings []byte) error {
	if len(settings) > 0 && string(settings) != "{}" {
		return sdk.InvalidSetting("path", "not supported in this example")
	}
	return nil
}

// A plugin's whole main is one call. The host starts the binary, checks
// the handshake, and talks to it over gRPC.
func ExampleServe() {
	sdk.Serve(sdk.Plugin{Name: "file-counter", Version: "0.1.0", Counter: &fileCounter{}})
}

// The same plugin served inside this process in go-plugin's test mode,
// and used the way the host uses it: dispensed by kind, checked with Info,
// configured, then called through its core interface.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := sdk.Plugin{Name: "file-counter", Version: "0.1.0", Counter: &fileCounter{}}
	reattach, done, err := sdk.ServeTest(ctx, p)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { cancel(); <-done }()

	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginSet(sdk.KindCounter),
		Reattach:         reattach,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           sdk.Logger().Named("host"),
	})
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		log.Fatal(err)
	}
	raw, err := rpc.Dispense(sdk.KindCounter)
	if err != nil {
		log.Fatal(err)
	}
	counter := raw.(*sdk.CounterClient)

	info, err := counter.Info(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Name, info.Kind, info.Version, info.Contract, info.Capabilities, info.Compatible(sdk.KindCounter))
	fmt.Println(counter.Configure(ctx, []byte(`{}`)))
	b, err := counter.Reserve(ctx, core.ReserveRequest{Size: 100, Floor: 5000})
	fmt.Println(b.First, b.Size, err)
	// Output:
	// file-counter counter 0.1.0 1 [configure] <nil>
	// <nil>
	// 5001 100 <nil>
}
