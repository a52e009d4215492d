package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// fileCounter is a core.Counter that keeps the last value it handed out as
// decimal text in a file, so the counter survives restarts of the plugin
// and of the host.
//
// Several plugin processes (one per Curtain instance) may share the file:
// a Reserve holds an exclusive flock on a lock file beside it while it
// reads, advances and rewrites the value. The lock lives on a separate
// file because the value file is replaced on every write (temp file,
// fsync, rename), and a lock on a replaced inode would guard nothing.
// Within one process a mutex serialises callers, since flock locks taken
// through one open file do not exclude each other.
//
// It is also a sdk.Configurer (settings {"path": "/abs/file"}), a
// sdk.Pinger (the health check reads the file) and a sdk.Closer.
type fileCounter struct {
	mu   sync.Mutex
	path string   // the value file; empty until Configure
	lock *os.File // path + ".lock", held open while configured
}

// Interface guards: the SDK discovers these by type assertion, so a typo
// in a method signature would silently drop a capability.
var (
	_ core.Counter   = (*fileCounter)(nil)
	_ sdk.Configurer = (*fileCounter)(nil)
	_ sdk.Pinger     = (*fileCounter)(nil)
	_ sdk.Closer     = (*fileCounter)(nil)
)

// newFileCounter returns an unconfigured counter; the host configures it
// through the plugin's Configure call before any Reserve.
func newFileCounter() *fileCounter { return &fileCounter{} }

// settings are the plugin's settings, the JSON object under
// plugins.counter.settings in Curtain's configuration.
type settings struct {
	// Path is the absolute path of the value file. Its directory is
	// created if missing; the file itself is created on the first
	// Reserve, and a missing file means the counter is at zero.
	Path string `json:"path"`
}

// Configure implements sdk.Configurer. It validates the settings, creates
// the directory and the lock file, and checks that an existing value file
// holds a counter value, so that a bad path fails at start-up rather than
// on the first short link.
func (c *fileCounter) Configure(ctx context.Context, raw []byte) error {
	s, err := parseSettings(raw)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
		return sdk.InvalidSetting("path", "create the directory of %s: %v", s.Path, err)
	}
	lock, err := os.OpenFile(s.Path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return sdk.InvalidSetting("path", "open the lock file: %v", err)
	}
	if _, err := readValue(s.Path); err != nil {
		lock.Close()
		return sdk.InvalidSetting("path", "%v", err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lock != nil {
		c.lock.Close() // configured again: the new settings win
	}
	c.path, c.lock = s.Path, lock
	sdk.Logger().Info("file counter configured", "path", s.Path)
	return nil
}

// parseSettings decodes and validates the settings object. Unknown keys
// are rejected, naming the key, so a typo does not go unnoticed.
func parseSettings(raw []byte) (settings, error) {
	var s settings
	if err := sdk.DecodeSettings(raw, &s); err != nil {
		return settings{}, err
	}
	switch {
	case s.Path == "":
		return settings{}, sdk.InvalidSetting("path", `required: set the value file, e.g. {"path": "/var/lib/curtain/counter"}`)
	case !filepath.IsAbs(s.Path):
		return settings{}, sdk.InvalidSetting("path", "%q is relative: use an absolute path (the plugin's working directory is the host's)", s.Path)
	}
	s.Path = filepath.Clean(s.Path)
	return s, nil
}

// Reserve implements core.Counter: under the process mutex and the file
// lock it raises the stored value to req.Floor, hands out the next
// req.Size values and stores the new last value durably before answering,
// so a crash can skip values but never hand one out twice.
func (c *fileCounter) Reserve(ctx context.Context, req core.ReserveRequest) (core.Block, error) {
	if req.Size < 1 {
		return core.Block{}, fmt.Errorf("reserve %d values: size must be at least 1: %w", req.Size, core.ErrInvalid)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lock == nil {
		return core.Block{}, fmt.Errorf("reserve %d values: the file counter is not configured: %w", req.Size, core.ErrUnavailable)
	}
	if err := flock(ctx, c.lock); err != nil {
		return core.Block{}, fmt.Errorf("reserve %d values: lock %s: %w", req.Size, c.lock.Name(), err)
	}
	defer syscall.Flock(int(c.lock.Fd()), syscall.LOCK_UN)

	last, err := readValue(c.path)
	if err != nil {
		return core.Block{}, fmt.Errorf("reserve %d values: %w", req.Size, err)
	}
	v := max(last, req.Floor)
	if v > math.MaxInt64-req.Size {
		return core.Block{}, fmt.Errorf("reserve %d values above %d: counter would overflow: %w", req.Size, v, core.ErrInvalid)
	}
	if err := writeValue(c.path, v+req.Size); err != nil {
		return core.Block{}, fmt.Errorf("reserve %d values: %w", req.Size, err)
	}
	return core.Block{First: v + 1, Size: req.Size}, nil
}

// Ping implements sdk.Pinger: the plugin is healthy while its value file
// can be read and holds a counter value.
func (c *fileCounter) Ping(ctx context.Context) error {
	c.mu.Lock()
	path := c.path
	c.mu.Unlock()
	if path == "" {
		return fmt.Errorf("the file counter is not configured: %w", core.ErrUnavailable)
	}
	// No lock needed: the file is only ever replaced whole by rename.
	if _, err := readValue(path); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Close implements sdk.Closer: the SDK calls it once serving has ended.
func (c *fileCounter) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lock == nil {
		return nil
	}
	err := c.lock.Close()
	c.lock, c.path = nil, ""
	return err
}

// flock takes an exclusive lock on f, polling so that the wait ends when
// ctx does (a blocking flock cannot be interrupted).
func flock(ctx context.Context, f *os.File) error {
	wait := time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// readValue returns the last value handed out, stored in path as decimal
// text; a missing file means nothing was handed out yet. Anything else
// that is not a non-negative number is an error: guessing could hand out
// values twice.
func readValue(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read counter file: %w", err)
	}
	v, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("counter file %s holds %q, want a non-negative number", path, bytes.TrimSpace(b))
	}
	return v, nil
}

// writeValue replaces the value file atomically: a temporary file in the
// same directory is written and fsynced, renamed over path, and the
// directory is fsynced so the rename itself survives a crash. Readers see
// the old value or the new one, never a partial write.
func writeValue(path string, v int64) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write counter file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.WriteString(strconv.FormatInt(v, 10) + "\n"); err != nil {
		return fmt.Errorf("write counter file: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write counter file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync counter file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write counter file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace counter file: %w", err)
	}
	committed = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync counter directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync counter directory: %w", err)
	}
	return nil
}
