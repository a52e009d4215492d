package core

import (
	"context"
	"fmt"
	"math"
)

// ChunkLister is an optional Store capability for the unpaginated lists
// (GET /users, GET /events): rows in id order, one bounded chunk after
// another (keyset pages), so that a list is never held whole in memory
// and no connection is held while a slow client reads. Stores without it
// are listed in one piece.
type ChunkLister interface {
	// ListUsersAfter returns at most limit users with id > after, ordered
	// by id.
	ListUsersAfter(ctx context.Context, after int64, limit int) ([]User, error)
	// ListEventsAfter returns at most limit events matching f with
	// id > after, ordered by id.
	ListEventsAfter(ctx context.Context, f EventFilter, after int64, limit int) ([]Event, error)
}

// ListChunk is how many rows one chunk of a streamed list holds.
const ListChunk = 500

// EachUser calls fn with the users GET /users lists, in id order, chunk
// by chunk (spec §4.7). fn is called at least once (perhaps with no
// users) unless the parameters are invalid or the first read fails, so
// the caller can answer those with an error; a later error ends the list.
func (s *Service) EachUser(ctx context.Context, p ListUsersRequest, fn func([]User) error) error {
	cl, ok := s.store.(ChunkLister)
	if !ok || p.Page != nil || p.PerPage != nil {
		users, err := s.ListUsers(ctx, p)
		if err != nil {
			return err
		}
		return fn(users)
	}
	return eachChunk(func(after int64) ([]User, error) {
		users, err := cl.ListUsersAfter(ctx, after, ListChunk)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		return users, nil
	}, func(u User) int64 { return u.ID }, fn)
}

// EachEvent calls fn with the events GET /events lists, in id order,
// chunk by chunk (spec §4.19), as EachUser does.
func (s *Service) EachEvent(ctx context.Context, p ListEventsRequest, fn func([]Event) error) error {
	cl, ok := s.store.(ChunkLister)
	if _, bounded := p.bounded(); !ok || bounded {
		events, err := s.ListEvents(ctx, p)
		if err != nil {
			return err
		}
		return fn(events)
	}
	f, none := eventFilter(p)
	if none {
		return fn([]Event{})
	}
	return eachChunk(func(after int64) ([]Event, error) {
		events, err := cl.ListEventsAfter(ctx, f, after, ListChunk)
		if err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		return events, nil
	}, func(e Event) int64 { return e.ID }, fn)
}

// eachChunk reads chunks with next until one is short, handing each to fn.
func eachChunk[T any](next func(after int64) ([]T, error), id func(T) int64, fn func([]T) error) error {
	after := int64(math.MinInt64) // ids may be negative (an import keeps them)
	for first := true; ; first = false {
		rows, err := next(after)
		if err != nil {
			return err
		}
		if len(rows) > 0 || first {
			if rows == nil {
				rows = []T{}
			}
			if err := fn(rows); err != nil {
				return err
			}
		}
		if len(rows) < ListChunk {
			return nil
		}
		after = id(rows[len(rows)-1])
	}
}
