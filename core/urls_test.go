package core

import (
	"context"
	"fmt"
	"testing"
)

// CreateOrFindURL finds an active link to the same URL, or creates one.
func (f *fakeStore) CreateOrFindURL(ctx context.Context, u *URL, created *Event) (bool, error) {
	f.mu.Lock()
	for _, e := range f.urls {
		if e.IsActive && e.OriginalURL == u.OriginalURL {
			f.mu.Unlock()
			*u = e
			return true, nil
		}
	}
	f.mu.Unlock()
	return false, f.CreateURL(ctx, u, created)
}

// RaiseCodeFloor raises the fake's counter.
func (f *fakeStore) RaiseCodeFloor(ctx context.Context, last int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counter = max(f.counter, last)
	return nil
}

// TestCodeFloorCoversIssuedCodes: codes a process reserved but never used
// (it stopped, or creates failed) stay covered by the store's floor, so a
// counter that restarts empty never hands out a code in use (issue 15).
func TestCodeFloorCoversIssuedCodes(t *testing.T) {
	ctx := t.Context()
	st := newFakeStore()
	ctr := &fakeCounter{}
	// Two processes one after the other, each using one code of its block.
	for i := range 2 {
		svc := newTestService(st, ServiceConfig{Counter: ctr, CodeBlockSize: 100})
		if _, _, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: fmt.Sprintf("https://x/%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A create that fails validation after drawing its code.
	svc := newTestService(st, ServiceConfig{Counter: ctr, CodeBlockSize: 100})
	if _, _, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: "https://x/2", UserID: ptrTo[int64](99)}); err == nil {
		t.Fatal("create for an unknown user succeeded")
	}
	inUse := map[string]bool{}
	for _, u := range st.urls {
		inUse[u.ShortCode] = true
	}
	// The counter restarts empty (a Redis flush); a new process draws a
	// whole block.
	fresh := &fakeCounter{}
	svc = newTestService(st, ServiceConfig{Counter: fresh, CodeBlockSize: 100})
	for i := range 150 {
		u, created, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: fmt.Sprintf("https://y/%d", i)})
		if err != nil || !created {
			t.Fatalf("create %d after the restart = %v, %v", i, created, err)
		}
		if inUse[u.ShortCode] {
			t.Fatalf("code %s handed out again after the counter restarted (floors %v)", u.ShortCode, fresh.calls)
		}
	}
	if got := fresh.calls[0].Floor; got < 200 {
		t.Errorf("floor after the restart = %d, want at least 200 (two blocks of 100 issued)", got)
	}
}
