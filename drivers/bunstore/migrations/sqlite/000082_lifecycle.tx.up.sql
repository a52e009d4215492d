-- Lifecycle bounds of a link (issue 19), NULL when unset: when it starts
-- and stops redirecting, how many redirects it serves, and where it sends
-- visitors afterwards.
ALTER TABLE urls ADD COLUMN valid_since timestamp;
--bun:split
ALTER TABLE urls ADD COLUMN valid_until timestamp;
--bun:split
ALTER TABLE urls ADD COLUMN max_visits bigint;
--bun:split
ALTER TABLE urls ADD COLUMN expired_url varchar(2048);
