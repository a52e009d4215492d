-- Curtain's additions to the reference schema; all additive.

-- Redirect events carry the click's id so replays insert nothing twice.
ALTER TABLE events ADD COLUMN IF NOT EXISTS click_id varchar(64);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS events_click_id ON events (click_id);
--bun:split
-- A b-tree on original_url rejects long multibyte URLs (spec Q32); a hash
-- index serves the equality lookup with no row-size limit.
DROP INDEX IF EXISTS url_original_url;
--bun:split
CREATE INDEX IF NOT EXISTS urls_original_url_hash ON urls USING hash (original_url);
--bun:split
-- The store's own short-code counter, used while the counter backend is down.
CREATE TABLE IF NOT EXISTS curtain_counters (
    name varchar(64) PRIMARY KEY,
    value bigint NOT NULL
);
