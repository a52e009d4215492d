package main

import (
	"cmp"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/plugintest"
)

// settingsFor returns the settings JSON that points a counter at path.
func settingsFor(path string) []byte {
	return []byte(`{"path": ` + strconv.Quote(path) + `}`)
}

// openCounter returns a counter configured on path, closed when the test
// ends.
func openCounter(t *testing.T, path string) *fileCounter {
	t.Helper()
	c := newFileCounter()
	if err := c.Configure(t.Context(), settingsFor(path)); err != nil {
		t.Fatalf("Configure(%s) error: %v", path, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close() error: %v", err)
		}
	})
	return c
}

// TestConformance runs the core.Counter conformance suite in process.
func TestConformance(t *testing.T) {
	plugintest.Counter(t, func(t *testing.T) core.Counter {
		return openCounter(t, filepath.Join(t.TempDir(), "counter"))
	})
}

func reserveOK(t *testing.T, c core.Counter, size, floor int64) core.Block {
	t.Helper()
	b, err := c.Reserve(t.Context(), core.ReserveRequest{Size: size, Floor: floor})
	if err != nil {
		t.Fatalf("Reserve(size %d, floor %d) error: %v", size, floor, err)
	}
	return b
}

func fileValue(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read counter file: %v", err)
	}
	return string(b)
}

func TestValueSurvivesReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "created", "on", "configure")
	path := filepath.Join(dir, "counter")

	c := openCounter(t, path)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat(%s) before any Reserve: err = %v, want not exist", path, err)
	}
	got := []core.Block{reserveOK(t, c, 10, 0), reserveOK(t, c, 5, 100)}
	want := []core.Block{{First: 1, Size: 10}, {First: 101, Size: 5}}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
	if got, want := fileValue(t, path), "105\n"; got != want {
		t.Errorf("counter file = %q, want %q", got, want)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}

	again := openCounter(t, path)
	if b := reserveOK(t, again, 1, 0); b.First != 106 {
		t.Errorf("Reserve after reopening = %+v, want First 106", b)
	}

	// Only the value file and its lock file are left: no temp files.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := gocmp.Diff([]string{"counter", "counter.lock"}, names); diff != "" {
		t.Errorf("files in %s (-want +got):\n%s", dir, diff)
	}
}

// TestSharedFile runs two counters on one file, as two plugin processes
// would: each has its own lock file descriptor, so only flock keeps their
// blocks apart.
func TestSharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "counter")
	counters := []*fileCounter{openCounter(t, path), openCounter(t, path)}
	const workers, perWorker = 6, 20
	var (
		mu     sync.Mutex
		blocks []core.Block
		total  int64
		wg     sync.WaitGroup
	)
	for w := range workers {
		c := counters[w%len(counters)]
		wg.Go(func() {
			for i := range perWorker {
				size := int64(1 + (w+i)%4)
				b, err := c.Reserve(t.Context(), core.ReserveRequest{Size: size})
				if err != nil {
					t.Errorf("Reserve(size %d) error: %v", size, err)
					return
				}
				mu.Lock()
				blocks = append(blocks, b)
				total += size
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	checkDisjoint(t, blocks)
	// With no floor, the blocks tile 1..total exactly.
	if got, want := fileValue(t, path), strconv.FormatInt(total, 10)+"\n"; got != want {
		t.Errorf("counter file = %q, want %q", got, want)
	}
}

// checkDisjoint fails if two blocks share a value.
func checkDisjoint(t *testing.T, blocks []core.Block) {
	t.Helper()
	sorted := slices.Clone(blocks)
	slices.SortFunc(sorted, func(a, b core.Block) int { return cmp.Compare(a.First, b.First) })
	for i := 1; i < len(sorted); i++ {
		if prev := sorted[i-1]; prev.First+prev.Size > sorted[i].First {
			t.Errorf("blocks overlap: %+v and %+v", prev, sorted[i])
		}
	}
}

func TestConfigureRejects(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "corrupt")
	if err := os.WriteFile(corrupt, []byte("twelve\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		settings  string
		wantField string
	}{
		{"no settings", ``, "path"},
		{"empty object", `{}`, "path"},
		{"empty path", `{"path": ""}`, "path"},
		{"relative path", `{"path": "var/counter"}`, "path"},
		{"path not a string", `{"path": 7}`, "path"},
		{"unknown key", `{"path": "/tmp/x", "flor": 3}`, "flor"},
		{"not an object", `["/tmp/x"]`, "settings"},
		{"directory is a file", string(settingsFor(filepath.Join(notDir, "counter"))), "path"},
		{"file holds no number", string(settingsFor(corrupt)), "path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFileCounter()
			err := c.Configure(t.Context(), []byte(tt.settings))
			var verr *core.ValidationError
			if !errors.As(err, &verr) || verr.Field != tt.wantField {
				t.Fatalf("Configure(%s) error = %v, want a *core.ValidationError for %q", tt.settings, err, tt.wantField)
			}
			if !errors.Is(err, core.ErrInvalid) {
				t.Errorf("Configure(%s) error = %v, want core.ErrInvalid", tt.settings, err)
			}
			// A rejected configuration leaves the counter unusable.
			if _, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 1}); !errors.Is(err, core.ErrUnavailable) {
				t.Errorf("Reserve after a rejected Configure error = %v, want core.ErrUnavailable", err)
			}
		})
	}
}

func TestUnconfigured(t *testing.T) {
	c := newFileCounter()
	if _, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 1}); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Reserve before Configure error = %v, want core.ErrUnavailable", err)
	}
	if err := c.Ping(t.Context()); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Ping before Configure error = %v, want core.ErrUnavailable", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close before Configure error = %v, want nil", err)
	}
}

func TestCorruptFileStopsReserving(t *testing.T) {
	path := filepath.Join(t.TempDir(), "counter")
	c := openCounter(t, path)
	reserveOK(t, c, 3, 0)
	if err := c.Ping(t.Context()); err != nil {
		t.Fatalf("Ping() on a good file error: %v", err)
	}

	if err := os.WriteFile(path, []byte("-4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 1}); err == nil {
		t.Errorf("Reserve on a corrupt file = %+v, want an error", b)
	}
	if err := c.Ping(t.Context()); err == nil {
		t.Error("Ping() on a corrupt file = nil, want an error")
	}
	if got, want := fileValue(t, path), "-4\n"; got != want {
		t.Errorf("counter file after failed Reserve = %q, want it untouched %q", got, want)
	}
}

func TestOverflowIsInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "counter")
	top := strconv.FormatInt(math.MaxInt64-5, 10) + "\n"
	if err := os.WriteFile(path, []byte(top), 0o644); err != nil {
		t.Fatal(err)
	}
	c := openCounter(t, path)
	if b, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 10}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Reserve(10) at MaxInt64-5 = %+v, %v, want core.ErrInvalid", b, err)
	}
	if got := fileValue(t, path); got != top {
		t.Errorf("counter file = %q, want it untouched %q", got, top)
	}
	if b := reserveOK(t, c, 5, 0); b.First != math.MaxInt64-4 {
		t.Errorf("Reserve(5) at MaxInt64-5 = %+v, want First %d", b, int64(math.MaxInt64-4))
	}
}

// TestReserveWaitsForLockUntilContextEnds holds the file lock as another
// process would and checks that Reserve gives up when its context ends,
// then succeeds once the lock is released.
func TestReserveWaitsForLockUntilContextEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "counter")
	c := openCounter(t, path)

	other, err := os.OpenFile(path+".lock", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if b, err := c.Reserve(ctx, core.ReserveRequest{Size: 1}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Reserve while the file is locked = %+v, %v, want context.DeadlineExceeded", b, err)
	}

	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if b := reserveOK(t, c, 1, 0); b.First != 1 {
		t.Errorf("Reserve after unlock = %+v, want First 1 (the timed-out call reserved nothing)", b)
	}
}

// TestExampleConfigSettings checks that the counter settings in
// examples/config/filecounter.yaml, as Curtain's loader hands them to the
// host, are settings this plugin accepts.
func TestExampleConfigSettings(t *testing.T) {
	loaded, err := config.Load(config.Sources{File: "../config/filecounter.yaml"})
	if err != nil {
		t.Fatalf("load the example configuration: %v", err)
	}
	raw := loaded.Plugins.Counter.SettingsJSON()
	s, err := parseSettings(raw)
	if err != nil {
		t.Fatalf("parseSettings(%s) error: %v", raw, err)
	}
	if want := (settings{Path: "/var/lib/curtain/counter"}); s != want {
		t.Errorf("parseSettings(%s) = %+v, want %+v", raw, s, want)
	}
}
