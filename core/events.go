package core

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/curtainhq/curtain/core/pycompat"
)

// ListEventsParams holds the raw query parameters of GET /events; nil
// means absent.
type ListEventsParams struct {
	URLID     *string
	UserID    *string
	EventType *string
}

// ListEvents lists events matching the filters, ordered by id (spec
// §4.19).
func (s *Service) ListEvents(ctx context.Context, p ListEventsParams) ([]Event, error) {
	f, none, err := eventFilter(p)
	if err != nil || none {
		return []Event{}, err
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

// eventFilter validates the parameters of GET /events; none reports a
// filter no stored event can match.
func eventFilter(p ListEventsParams) (f EventFilter, none bool, err error) {
	for _, q := range []struct {
		name string
		raw  *string
		dst  **int64
	}{{"url_id", p.URLID, &f.URLID}, {"user_id", p.UserID, &f.UserID}} {
		if q.raw == nil {
			continue
		}
		n, ok, overflow := pycompat.ParseInt(*q.raw)
		if !ok {
			return f, false, invalid(q.name, "Query parameter '%s' must be an integer", q.name)
		}
		none = none || overflow || !validID(n)
		*q.dst = &n
	}
	if p.EventType != nil {
		f.EventType = p.EventType
		none = none || strings.IndexByte(*p.EventType, 0) >= 0
	}
	return f, none, nil
}

// GetEvent returns one event (spec §4.20).
func (s *Service) GetEvent(ctx context.Context, id int64) (Event, error) {
	return getRow(ctx, s.store.GetEvent, id, ErrEventNotFound, "event")
}

// CreateEvent records a client event (spec §4.21). Unlike the reference,
// missing or null details are stored as {} (fix of Q4), booleans are not
// integers (Q10), and an over-long or NUL-containing event_type is a 400
// (Q11).
func (s *Service) CreateEvent(ctx context.Context, body *pycompat.JSONValue) (Event, error) {
	if body == nil || body.Kind != pycompat.JSONObject {
		return Event{}, invalid("request", msgBodyNotObject)
	}
	typ, ok := body.Get("event_type")
	if !ok {
		return Event{}, invalid("event_type", "Field 'event_type' is required")
	}
	eventType := pycompat.Strip(typ.Text)
	switch {
	case typ.Kind != pycompat.JSONString || eventType == "":
		return Event{}, invalid("event_type", "Field 'event_type' must be a non-empty string")
	case tooLong(eventType, MaxEventTypeLen):
		return Event{}, invalid("event_type", "Field 'event_type' must not exceed 64 characters")
	case strings.IndexByte(eventType, 0) >= 0:
		return Event{}, invalid("event_type", "Field 'event_type' must not contain NUL characters")
	}
	urlField, ok := body.Get("url_id")
	if !ok {
		return Event{}, invalid("url_id", "Field 'url_id' is required")
	}
	urlID, isInt, urlOverflow := urlField.Int64()
	if !isInt {
		return Event{}, invalid("url_id", "Field 'url_id' must be an integer")
	}
	var userID *int64
	userOverflow := false
	if v, ok := body.Get("user_id"); ok && v.Kind != pycompat.JSONNull {
		n, isInt, overflow := v.Int64()
		if !isInt {
			return Event{}, invalid("user_id", msgUserIDNotInt)
		}
		userID, userOverflow = &n, overflow
	}
	details := "{}"
	if d, ok := body.Get("details"); ok && d.Kind != pycompat.JSONNull {
		if d.Kind != pycompat.JSONObject {
			return Event{}, invalid("details", "Field 'details' must be a JSON object")
		}
		details = string(d.AppendPython(nil))
	}
	if urlOverflow {
		return Event{}, ErrURLNotFound
	}
	if _, err := s.loadURL(ctx, urlID); err != nil {
		return Event{}, err
	}
	if userID != nil {
		if userOverflow {
			return Event{}, ErrUserNotFound
		}
		if _, err := s.GetUser(ctx, *userID); err != nil {
			return Event{}, err
		}
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
	s.cacheDelete(ctx, []string{analyticsKey(urlID)})
	return e, nil
}
