-- The index of events.user_id leaves out the events of no user, as on
-- PostgreSQL (see its migration 000121): redirects stored from clicks
-- have none, and every reader asks for one user id.
DROP INDEX IF EXISTS event_user_id;
--bun:split
CREATE INDEX event_user_id ON events (user_id) WHERE user_id IS NOT NULL;
