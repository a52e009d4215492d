-- The key that replaced each API key (curtain keys rotate), NULL for a key
-- never rotated. A replaced key that is not revoked acts as the newest key
-- of its chain; its links moved to the new key when it was rotated.
ALTER TABLE api_keys ADD COLUMN replaced_by integer REFERENCES api_keys (id);
