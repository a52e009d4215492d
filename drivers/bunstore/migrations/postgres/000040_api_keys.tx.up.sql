-- API keys (stored as SHA-256 only) and the key that created each link.
CREATE TABLE IF NOT EXISTS api_keys (
    id serial PRIMARY KEY,
    name varchar(100) NOT NULL,
    hash char(64) NOT NULL,
    scopes varchar(64) NOT NULL,
    created_at timestamp NOT NULL,
    revoked_at timestamp
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_hash ON api_keys (hash);
--bun:split
CREATE TABLE IF NOT EXISTS api_key_urls (
    url_id integer PRIMARY KEY REFERENCES urls (id) ON DELETE CASCADE,
    key_id integer NOT NULL REFERENCES api_keys (id)
);
