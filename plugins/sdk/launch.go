package sdk

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Named errors of a plugin that breaks the contract. The host and
// `curtain plugin check` wrap them, so errors.Is tells them apart.
var (
	// ErrNotAPlugin: the process did not complete go-plugin's handshake
	// (it exited, printed something else on stdout, or timed out).
	ErrNotAPlugin = errors.New("not a Curtain plugin: no go-plugin handshake line on stdout")
	// ErrCertificate: the handshake's TLS certificate is not the
	// unpadded standard base64 of a DER certificate.
	ErrCertificate = errors.New("bad TLS certificate in the handshake line: it must be unpadded standard base64 of the DER bytes (no trailing '=')")
	// ErrWrongKind: Info reports another kind or contract version, or the
	// handshake line names a contract version the host does not speak.
	ErrWrongKind = errors.New("wrong kind or contract version")
	// ErrTLS: the handshake succeeded but the TLS handshake of the first
	// call did not: the plugin serves no TLS, or another certificate than
	// its handshake line names (or the line names none).
	ErrTLS = errors.New("TLS handshake with the plugin failed: serve gRPC over TLS with the certificate the handshake line's sixth field names, requiring and trusting PLUGIN_CLIENT_CERT")
	// ErrNoHealthService: the plugin does not answer the standard gRPC
	// health check (grpc.health.v1.Health/Check, service "plugin").
	ErrNoHealthService = errors.New(`no gRPC health service: grpc.health.v1.Health/Check for service "plugin" is not answered`)
)

// HealthService is the service name the host asks the gRPC health
// service about (go-plugin's name); a plugin must also answer "".
const HealthService = plugin.GRPCServiceName

// EnvAllowList names the variables of the host's environment a plugin
// process gets by default. Nothing else of the host's environment (such
// as DATABASE_URL or Redis URLs with passwords) reaches a plugin; what a
// plugin needs comes through its settings.
var EnvAllowList = []string{"PATH", "HOME", "TMPDIR", "TZ", "LANG", "LC_ALL", "LC_CTYPE"}

// PluginEnv returns the environment of a plugin process: the variables
// of environ named in allow, then extra (NAME=value entries). go-plugin
// adds its own (the magic cookie, PLUGIN_* and the client certificate).
func PluginEnv(environ, allow []string, extra ...string) []string {
	var env []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if slices.Contains(allow, name) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// LaunchConfig returns the go-plugin client configuration that starts cmd
// as a plugin of kind the way the host does: gRPC only, the SDK's
// handshake, automatic mTLS, without the host's environment (cmd.Env is
// all the process gets besides go-plugin's own variables), and, on
// Linux, killed when the process that started it dies. A nil cmd leaves
// the configuration for a Reattach.
func LaunchConfig(kind string, cmd *exec.Cmd, startTimeout time.Duration) *plugin.ClientConfig {
	if cmd != nil {
		setParentDeathSignal(cmd)
	}
	return &plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: VersionedPlugins(kind),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     startTimeout,
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithInitialWindowSize(streamWindow),
			grpc.WithInitialConnWindowSize(connWindow),
		},
	}
}

// ExplainStart wraps an error of go-plugin's Client() with the named
// error it stands for, when there is one.
func ExplainStart(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "error parsing server cert"):
		return fmt.Errorf("%w (%v)", ErrCertificate, err)
	case strings.Contains(strings.ToLower(msg), "incompatible api version"):
		// go-plugin's text is "incompatible API version with plugin.
		// Plugin version: 2, Client versions: [1]".
		return fmt.Errorf("%w: the handshake line names a contract version the host did not offer in PLUGIN_PROTOCOL_VERSIONS (%v)", ErrWrongKind, err)
	case strings.Contains(msg, "Unrecognized remote plugin message"),
		strings.Contains(msg, "plugin exited before we could connect"),
		strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("%w (%v)", ErrNotAPlugin, err)
	}
	return err
}

// Health is the answer of a plugin's health check.
type Health int

// The answers of CheckHealth.
const (
	// Serving: the plugin and its backing service work.
	Serving Health = iota
	// NotServing: the plugin answers, but its backing service is down.
	NotServing
	// Unanswered: the check got no answer (see the error).
	Unanswered
)

// String names h as the gRPC health service does (SERVING, NOT_SERVING),
// so that a message showing it reads the same as the plugin's answer.
func (h Health) String() string {
	switch h {
	case Serving:
		return "SERVING"
	case NotServing:
		return "NOT_SERVING"
	case Unanswered:
		return "unanswered"
	}
	return fmt.Sprintf("Health(%d)", int(h))
}

// CheckHealth runs the standard gRPC health check of the plugin on conn.
// A plugin without the health service is ErrNoHealthService.
func CheckHealth(ctx context.Context, conn grpc.ClientConnInterface) (Health, error) {
	resp, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: HealthService})
	switch status.Code(err) {
	case codes.OK:
	case codes.Unimplemented, codes.NotFound:
		return Unanswered, fmt.Errorf("%w (%v)", ErrNoHealthService, err)
	default:
		return Unanswered, fmt.Errorf("health check: %w", err)
	}
	if resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		return NotServing, nil
	}
	return Serving, nil
}

// AskInfo asks c's plugin for its Info. When the plugin does not serve
// c's kind, it asks the Info of the other kinds on conn, so that the
// caller's Compatible check can name the kind the plugin does serve. A
// call that fails its TLS handshake is ErrTLS.
func AskInfo(ctx context.Context, c Client, conn grpc.ClientConnInterface) (Info, error) {
	info, err := c.Info(ctx)
	// gRPC reports a failed TLS handshake by text only.
	if err != nil && strings.Contains(err.Error(), "authentication handshake failed") {
		return info, fmt.Errorf("%w (%v)", ErrTLS, err)
	}
	if status.Code(err) != codes.Unimplemented || conn == nil {
		return info, err
	}
	for _, k := range Kinds() {
		if k == c.Kind() {
			continue
		}
		other, cerr := NewClient(k, conn)
		if cerr != nil {
			continue
		}
		if info, ierr := other.Info(ctx); ierr == nil {
			if info.Kind == c.Kind() {
				// Its Info claims the kind, but the service behind it is
				// another kind's: the servicer registered is the wrong one.
				return Info{}, fmt.Errorf("%w: plugin %q reports kind %q, but serves kind %q's gRPC service, not kind %q's (%v)",
					ErrWrongKind, info.Name, info.Kind, k, c.Kind(), err)
			}
			return info, nil
		}
	}
	return Info{}, fmt.Errorf("%w: the plugin answers Info for no kind (%v)", ErrWrongKind, err)
}

// The HTTP/2 flow-control windows of the plugin connection, on both
// sides. Fixed windows turn off grpc-go's bandwidth estimation, which
// otherwise answers received data with PING frames and window updates:
// extra writes and wake-ups on every call between two processes of one
// machine, where the bandwidth is never in question. A window holds
// several of the largest batches.
const (
	streamWindow = 4 << 20
	connWindow   = 16 << 20
)
