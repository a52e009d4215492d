-- The index of events.user_id leaves out the events of no user (issue
-- 12): every redirect stored from a click has none, and each paid for an
-- entry no query reads, since every reader of the index (ListEvents by
-- user, the foreign key check when a user is deleted) asks for one user
-- id, which implies it is not NULL. Rebuilding the index holds off writers
-- of events for as long as it takes.
DROP INDEX IF EXISTS event_user_id;
--bun:split
CREATE INDEX event_user_id ON events (user_id) WHERE user_id IS NOT NULL;
