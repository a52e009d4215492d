-- Find-if-exists without races (issue 15): a link that a later create of
-- the same URL may reuse carries a key derived from its original URL while
-- it is active, and the unique index lets one concurrent create win.
ALTER TABLE urls ADD COLUMN IF NOT EXISTS reuse_key varchar(64);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS urls_reuse_key ON urls (reuse_key);
