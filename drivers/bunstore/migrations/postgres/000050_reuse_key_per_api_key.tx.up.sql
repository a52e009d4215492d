-- Find-if-exists is scoped by the creating API key (issue 12): a link a
-- key created is reused only by that key, and its reuse_key now includes
-- the key. Links created before carry the unscoped key, which an
-- anonymous create would collide with: they stop being reusable through
-- reuse_key (their key still finds them by original URL).
UPDATE urls SET reuse_key = NULL WHERE id IN (SELECT url_id FROM api_key_urls);
