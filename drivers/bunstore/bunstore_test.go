package bunstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
)

// pgErr stands in for pgconn.PgError.
type pgErr struct{ state string }

func (e *pgErr) Error() string    { return "pg error " + e.state }
func (e *pgErr) SQLState() string { return e.state }

// liteErr stands in for modernc.org/sqlite's *Error.
type liteErr struct{ code int }

func (e *liteErr) Error() string { return fmt.Sprintf("sqlite error %d", e.code) }
func (e *liteErr) Code() int     { return e.code }

func TestKind(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"nil", nil, nil},
		{"no rows", fmt.Errorf("scan: %w", sql.ErrNoRows), core.ErrNotFound},
		{"pg unique", &pgErr{"23505"}, core.ErrConflict},
		{"pg foreign key", fmt.Errorf("insert: %w", &pgErr{"23503"}), core.ErrReference},
		{"pg not null", &pgErr{"23502"}, core.ErrInvalid},
		{"pg value too long", &pgErr{"22001"}, core.ErrInvalid},
		{"pg connection failure", &pgErr{"08006"}, core.ErrUnavailable},
		{"pg shutdown", &pgErr{"57P01"}, core.ErrUnavailable},
		{"pg too many connections", &pgErr{"53300"}, core.ErrUnavailable},
		{"pg syntax error", &pgErr{"42601"}, nil},
		{"sqlite unique", &liteErr{2067}, core.ErrConflict},
		{"sqlite primary key", &liteErr{1555}, core.ErrConflict},
		{"sqlite foreign key", &liteErr{787}, core.ErrReference},
		{"sqlite not null", &liteErr{1299}, core.ErrInvalid},
		{"sqlite busy", &liteErr{5}, core.ErrUnavailable},
		{"sqlite busy snapshot", &liteErr{517}, core.ErrUnavailable},
		{"sqlite cannot open", &liteErr{14}, core.ErrUnavailable},
		{"sqlite check constraint", &liteErr{275}, nil},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, core.ErrUnavailable},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), core.ErrUnavailable},
		{"unexpected eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), core.ErrUnavailable},
		{"bad conn", driver.ErrBadConn, core.ErrUnavailable},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), nil},
		// A deadline that ran out (a request's store timeout) is a store
		// that did not answer in time.
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), core.ErrUnavailable},
		{"deadline through a net error", &net.OpError{Op: "read", Err: context.DeadlineExceeded}, core.ErrUnavailable},
		{"plain", errors.New("boom"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kind(tt.err); got != tt.want {
				t.Errorf("kind(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestWrapf(t *testing.T) {
	if wrapf(nil, "x") != nil {
		t.Fatal("wrapf(nil) != nil")
	}
	cause := &pgErr{"23505"}
	err := wrapf(cause, "create url %q", "abc")
	if !errors.Is(err, core.ErrConflict) {
		t.Errorf("wrapf(unique violation) does not match ErrConflict: %v", err)
	}
	if _, ok := errors.AsType[*pgErr](err); !ok {
		t.Errorf("wrapf lost the driver error: %v", err)
	}
	if got, want := err.Error(), `create url "abc": conflict: pg error 23505`; got != want {
		t.Errorf("wrapf message = %q, want %q", got, want)
	}
	// An error already carrying the sentinel is not tagged twice.
	nf := fmt.Errorf("get url 1: %w", core.ErrURLNotFound)
	if got, want := wrapf(nf, "op").Error(), "op: get url 1: URL not found"; got != want {
		t.Errorf("wrapf(not found) = %q, want %q", got, want)
	}
}

func TestStamp(t *testing.T) {
	want := time.Date(2025, 10, 14, 15, 7, 51, 123456000, time.UTC)
	v, err := newStamp(want.In(time.FixedZone("x", 7200)).Add(789)).Value()
	if err != nil || v != "2025-10-14 15:07:51.123456" {
		t.Fatalf("Value = %v, %v, want 2025-10-14 15:07:51.123456", v, err)
	}
	tests := []struct {
		name string
		src  any
		want time.Time
	}{
		{"time in a zone", want.In(time.FixedZone("y", -3600)), want},
		{"fixed text", "2025-10-14 15:07:51.123456", want},
		{"bytes", []byte("2025-10-14 15:07:51.123456"), want},
		{"whole seconds", "2025-10-14 15:07:51", want.Truncate(time.Second)},
		{"T separator", "2025-10-14T15:07:51.123456", want},
		{"zone suffix", "2025-10-14 17:07:51.123456+02:00", want},
		{"Z suffix", "2025-10-14T15:07:51.123456Z", want},
		{"nil", nil, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s stamp
			if err := s.Scan(tt.src); err != nil {
				t.Fatalf("Scan(%v): %v", tt.src, err)
			}
			if got := s.Time(); !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("Scan(%v) = %v (%v), want %v UTC", tt.src, got, got.Location(), tt.want)
			}
		})
	}
	for _, bad := range []any{"yesterday", 42} {
		var s stamp
		if err := s.Scan(bad); err == nil {
			t.Errorf("Scan(%v) = nil error, want one", bad)
		}
	}
}

func TestFixedWidthTextSortsLikeTime(t *testing.T) {
	times := []time.Time{
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(2025, 1, 1, 0, 0, 0, 500000000, time.UTC),
		time.Date(2025, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	prev := ""
	for _, tm := range times {
		v, _ := newStamp(tm).Value()
		s := v.(string)
		if s <= prev {
			t.Errorf("%q sorts before or with %q, but its time is later", s, prev)
		}
		prev = s
	}
}

func TestMigrationsAreEmbedded(t *testing.T) {
	for _, dir := range []string{"migrations/postgres", "migrations/sqlite"} {
		entries, err := migrationFiles.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			t.Errorf("ReadDir(%s) = %d entries, %v, want migrations", dir, len(entries), err)
		}
		for _, e := range entries {
			if !fnameOK(e.Name()) {
				t.Errorf("migration %s/%s is not named <version>_<name>.tx.up.sql", dir, e.Name())
			}
		}
	}
}

// fnameOK reports whether name is a forward-only transactional migration.
func fnameOK(name string) bool {
	var version int
	var rest string
	if n, _ := fmt.Sscanf(name, "%06d_%s", &version, &rest); n != 2 || version < 1 {
		return false
	}
	return len(rest) > len(".tx.up.sql") && rest[len(rest)-len(".tx.up.sql"):] == ".tx.up.sql"
}

// TestClickDetailsLikeMarshal: the details of a click are byte for byte
// what json.Marshal writes, plain or not.
func TestClickDetailsLikeMarshal(t *testing.T) {
	for _, d := range []clickDetails{
		{IP: "10.0.0.1", Shard: "shard0", ShortCode: "abc123", Source: "stream"},
		{IP: "2001:db8::1", Shard: "", ShortCode: "x", Source: "direct"},
		{IP: "1.2.3.4", Shard: "s<1>&", ShortCode: `q"\` + "\x01é\u2028", Source: "stream"},
	} {
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendClickDetails([]byte("junk"), d)
		if err != nil || string(got) != "junk"+string(want) {
			t.Errorf("appendClickDetails(%+v) = %q, %v; want %q after the prefix", d, got, err, want)
		}
	}
}
