package core

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/curtainhq/curtain/core/pycompat"
)

// ListEventsRequest selects the events GET /events lists; nil fields do
// not filter. An id outside the id range, or an event type holding NUL,
// matches nothing.
type ListEventsRequest struct {
	URLID     *int64
	UserID    *int64
	EventType *string
	// Limit, when set, bounds the list to 1..MaxEventListLimit events,
	// and Newest lists the newest first (order=newest); either makes the
	// list one query of at most Limit (default MaxEventListLimit) events
	// instead of the reference's whole table.
	Limit  *int64
	Newest bool
}

// MaxEventListLimit is the most events a bounded GET /events answers.
const MaxEventListLimit = 1000

// bounded reports whether p asks for a bounded list, and its bound.
func (p ListEventsRequest) bounded() (int, bool) {
	if p.Limit == nil && !p.Newest {
		return 0, false
	}
	if p.Limit == nil {
		return MaxEventListLimit, true
	}
	return int(min(max(*p.Limit, 1), MaxEventListLimit)), true
}

// ListEvents lists events matching the filters, ordered by id (spec
// §4.19).
func (s *Service) ListEvents(ctx context.Context, p ListEventsRequest) ([]Event, error) {
	f, none := eventFilter(p)
	if none {
		return []Event{}, nil
	}
	events, err := s.store.ListEvents(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	if events == nil {
		events = []Event{}
	}
	return events, nil
}

// eventFilter turns a request into a store filter; none reports a filter
// no stored event can match.
func eventFilter(p ListEventsRequest) (f EventFilter, none bool) {
	none = (p.URLID != nil && !validID(*p.URLID)) || (p.UserID != nil && !validID(*p.UserID)) ||
		(p.EventType != nil && strings.IndexByte(*p.EventType, 0) >= 0)
	f = EventFilter{URLID: p.URLID, UserID: p.UserID, EventType: p.EventType, Newest: p.Newest}
	f.Limit, _ = p.bounded()
	return f, none
}

// GetEvent returns one event (spec §4.20).
func (s *Service) GetEvent(ctx context.Context, id int64) (Event, error) {
	return getRow(ctx, s.store.GetEvent, id, ErrEventNotFound, "event")
}

// CreateEventRequest records a client event (spec §4.21).
type CreateEventRequest struct {
	// EventType is stored trimmed; it must not be blank, longer than
	// MaxEventTypeLen or hold NUL.
	EventType string
	// URLID must name an existing URL (active or not).
	URLID int64
	// UserID, when set, must name an existing user.
	UserID *int64
	// Details is the event's details object as JSON text in Python's
	// json.dumps layout; "" stores {}.
	Details string
}

// CreateEvent records a client event (spec §4.21). Unlike the reference,
// missing details are stored as {} (fix of Q4), and an over-long or
// NUL-containing event_type is a 400 (Q11), checked where the reference's
// insert failed: after the unknown URL and user.
func (s *Service) CreateEvent(ctx context.Context, req CreateEventRequest) (Event, error) {
	eventType := pycompat.Strip(req.EventType)
	if eventType == "" {
		return Event{}, invalid("event_type", "Field 'event_type' must be a non-empty string")
	}
	details := req.Details
	if details == "" {
		details = "{}"
	}
	urlID, userID := req.URLID, req.UserID
	if !validID(urlID) {
		return Event{}, ErrURLNotFound
	}
	if _, err := s.loadURL(ctx, urlID); err != nil {
		return Event{}, err
	}
	if userID != nil {
		if !validID(*userID) {
			return Event{}, ErrUserNotFound
		}
		if _, err := s.GetUser(ctx, *userID); err != nil {
			return Event{}, err
		}
	}
	// What the reference's database refused with a 500 (Q11), after the
	// 404s that the reference answered first.
	if err := storableField("event_type", eventType, MaxEventTypeLen); err != nil {
		return Event{}, err
	}
	e := Event{
		URLID:     &urlID,
		UserID:    userID,
		EventType: eventType,
		Timestamp: s.clock(),
		Details:   details,
	}
	if err := s.store.CreateEvent(ctx, &e); err != nil {
		if errors.Is(err, ErrReference) {
			// The URL or user was deleted meanwhile.
			if _, uerr := s.loadURL(ctx, urlID); uerr != nil {
				return Event{}, ErrURLNotFound
			}
			return Event{}, ErrUserNotFound
		}
		return Event{}, fmt.Errorf("create event: %w", err)
	}
	s.invalidateChanged(ctx, []string{analyticsKey(urlID)})
	return e, nil
}
