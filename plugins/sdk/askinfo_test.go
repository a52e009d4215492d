package sdk_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	counterv1 "github.com/curtainhq/curtain/plugins/proto/counter/v1"
	pluginv1 "github.com/curtainhq/curtain/plugins/proto/plugin/v1"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// infoCounter serves the counter service with an Info that reports kind.
type infoCounter struct {
	counterv1.UnimplementedCounterServer
	kind string
}

func (c infoCounter) Info(context.Context, *pluginv1.InfoRequest) (*pluginv1.InfoResponse, error) {
	return &pluginv1.InfoResponse{Name: "py-counter", Kind: c.kind, ContractVersion: sdk.ContractVersion}, nil
}

// dialCounter serves infoCounter{kind} in process, without TLS, and returns
// a connection with creds (insecure when nil).
func dialCounter(t *testing.T, kind string, creds ...credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	creds = append(creds, insecure.NewCredentials())
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer()
	counterv1.RegisterCounterServer(srv, infoCounter{kind: kind})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(creds[0]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// TestAskInfoOtherKindsService: a plugin asked for a kind whose service it
// does not serve is named by the kind it does serve, and one whose Info
// claims the asked kind over another kind's service (the wrong servicer
// registered) is ErrWrongKind saying so, not accepted to fail later with
// UNIMPLEMENTED on Configure.
func TestAskInfoOtherKindsService(t *testing.T) {
	tests := []struct {
		name     string
		infoKind string
		wantErr  string
	}{
		{"honest counter", sdk.KindCounter, ""},
		{"counter claiming cache", sdk.KindCache, `serves kind "counter"'s gRPC service, not kind "cache"'s`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := dialCounter(t, tt.infoKind)
			c, err := sdk.NewClient(sdk.KindCache, conn)
			if err != nil {
				t.Fatal(err)
			}
			info, err := sdk.AskInfo(t.Context(), c, conn)
			if tt.wantErr == "" {
				if err != nil || info.Kind != sdk.KindCounter {
					t.Fatalf("AskInfo = %+v, %v; want the counter's Info", info, err)
				}
				if err := info.Compatible(sdk.KindCache); !errors.Is(err, sdk.ErrWrongKind) {
					t.Errorf("Compatible(cache) = %v, want ErrWrongKind", err)
				}
				return
			}
			if !errors.Is(err, sdk.ErrWrongKind) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("AskInfo = %+v, %v; want ErrWrongKind saying %q", info, err, tt.wantErr)
			}
		})
	}
}

// TestAskInfoTLSFailure: a plugin whose server does not speak the TLS the
// host dials with (no TLS at all here; or a certificate other than the
// handshake line's) is ErrTLS, not a bare transport error.
func TestAskInfoTLSFailure(t *testing.T) {
	conn := dialCounter(t, sdk.KindCounter, credentials.NewTLS(&tls.Config{ServerName: "localhost"}))
	c, err := sdk.NewClient(sdk.KindCounter, conn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.AskInfo(t.Context(), c, conn); !errors.Is(err, sdk.ErrTLS) {
		t.Errorf("AskInfo over a failing TLS handshake = %v, want ErrTLS", err)
	}
}
