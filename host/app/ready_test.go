package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/curtainhq/curtain/core"
)

// pingFails is a store whose Ping fails with err.
type pingFails struct {
	core.Store
	err error
}

func (s pingFails) Ping(context.Context) error { return s.err }

// TestReadinessHidesStoreDetails checks that GET /health/ready, open to
// anyone, says why the store is down without the driver's text (which
// names the database, its user and address), and that the log has it.
func TestReadinessHidesStoreDetails(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"refused", fmt.Errorf("failed to connect to `user=alice database=secretdb`: 10.1.2.3:5432: %w", refused),
			"the store cannot be reached: connection refused (the log has the error)"},
		{"timeout", fmt.Errorf("failed to connect to `user=alice database=secretdb`: %w", context.DeadlineExceeded),
			"the store did not answer in time (the log has the error)"},
		{"auth", fmt.Errorf(`password authentication failed for user "alice" on secretdb`),
			"the store cannot be reached (the log has the error)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logged, nil))
			_, err := storeCheck("postgres", pingFails{err: tc.err}, log).Probe(t.Context())
			if err == nil || err.Error() != tc.want {
				t.Fatalf("probe error = %v, want %q", err, tc.want)
			}
			if !strings.Contains(logged.String(), "secretdb") || !strings.Contains(logged.String(), "health.store_down") {
				t.Errorf("log = %q, want the whole error", logged.String())
			}
		})
	}
}
