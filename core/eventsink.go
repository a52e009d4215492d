package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Link change types an EventSink is told of.
const (
	LinkCreated = "link.created"
	LinkUpdated = "link.updated"
	LinkDeleted = "link.deleted"
)

// LinkChange is a committed change of a link.
type LinkChange struct {
	// Type is LinkCreated, LinkUpdated or LinkDeleted.
	Type string
	// URL is the link after the change (before it, for a deletion).
	URL URL
	// At is when the change was committed.
	At time.Time
}

// EventSink is told what happened once it is durable, to send it on
// (outbound webhooks). It sits outside the request and click paths: a
// sink must return quickly (queue the news) and handle its own failures;
// it never fails the write it is told of.
type EventSink interface {
	// LinksChanged is called after the transaction that changed the links
	// committed.
	LinksChanged(ctx context.Context, changes []LinkChange)
	// ClicksStored is called after the transaction that stored clicks
	// (the stream consumer's or the click batcher's) committed, with the
	// batch it stored. A batch replayed after a crash may be told twice
	// (at-least-once); ClickEvent.ID tells the copies apart.
	ClicksStored(ctx context.Context, clicks []ClickEvent)
}

// NotifyingStore returns store with sink told of every link created,
// updated or deleted, and of every click batch stored, after each write
// succeeded. Wrap the store of the service, of the stream consumer and of
// the click batcher with it, so that a click is told of whichever way it
// was stored. A store that is a ChunkLister stays one.
func NotifyingStore(store Store, sink EventSink, now func() time.Time) Store {
	if now == nil {
		now = time.Now
	}
	n := &notifyingStore{Store: store, sink: sink, now: now}
	if cl, ok := store.(ChunkLister); ok {
		return &notifyingChunkStore{notifyingStore: n, ChunkLister: cl}
	}
	return n
}

// notifyingStore is NotifyingStore's wrapper.
type notifyingStore struct {
	Store
	sink EventSink
	now  func() time.Time
}

// notifyingChunkStore keeps the ChunkLister capability of a wrapped store.
type notifyingChunkStore struct {
	*notifyingStore
	ChunkLister
}

// ClickBreakdown keeps the BreakdownStore capability of the wrapped
// store, so that a deployment with webhooks still answers breakdowns.
func (s *notifyingStore) ClickBreakdown(ctx context.Context, urlID int64, since time.Time) ([]BreakdownCount, []BreakdownHour, error) {
	bs, ok := s.Store.(BreakdownStore)
	if !ok {
		return nil, nil, fmt.Errorf("store %T keeps no click breakdown: %w", s.Store, errors.ErrUnsupported)
	}
	return bs.ClickBreakdown(ctx, urlID, since)
}

func (s *notifyingStore) tell(ctx context.Context, typ string, u URL) {
	s.sink.LinksChanged(ctx, []LinkChange{{Type: typ, URL: u, At: s.now().UTC()}})
}

func (s *notifyingStore) CreateURL(ctx context.Context, u *URL, created *Event) error {
	if err := s.Store.CreateURL(ctx, u, created); err != nil {
		return err
	}
	s.tell(ctx, LinkCreated, *u)
	return nil
}

func (s *notifyingStore) CreateOrFindURL(ctx context.Context, u *URL, created *Event) (bool, error) {
	found, err := s.Store.CreateOrFindURL(ctx, u, created)
	if err == nil && !found {
		s.tell(ctx, LinkCreated, *u)
	}
	return found, err
}

func (s *notifyingStore) UpdateURL(ctx context.Context, u URL, updated *Event) error {
	if err := s.Store.UpdateURL(ctx, u, updated); err != nil {
		return err
	}
	s.tell(ctx, LinkUpdated, u)
	return nil
}

// DeleteURL reads the link first, so that the news says which link went.
func (s *notifyingStore) DeleteURL(ctx context.Context, id int64) error {
	u, getErr := s.Store.GetURL(ctx, id)
	if err := s.Store.DeleteURL(ctx, id); err != nil {
		return err
	}
	if getErr != nil {
		u = URL{ID: id}
	}
	s.tell(ctx, LinkDeleted, u)
	return nil
}

func (s *notifyingStore) InsertClicks(ctx context.Context, clicks []ClickEvent) (int, error) {
	n, err := s.Store.InsertClicks(ctx, clicks)
	if err == nil && n > 0 {
		s.sink.ClicksStored(ctx, clicks)
	}
	return n, err
}
