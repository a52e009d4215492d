-- The reference's three tables (spec §3), created only where missing so a
-- reference database is adopted in place.
CREATE TABLE IF NOT EXISTS users (
    id serial PRIMARY KEY,
    username varchar(120) NOT NULL,
    email varchar(255) NOT NULL,
    created_at timestamp NOT NULL
);
--bun:split
CREATE TABLE IF NOT EXISTS urls (
    id serial PRIMARY KEY,
    user_id integer REFERENCES users (id),
    short_code varchar(16) NOT NULL,
    original_url varchar(2048) NOT NULL,
    title varchar(255),
    is_active boolean NOT NULL,
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL
);
--bun:split
CREATE UNIQUE INDEX IF NOT EXISTS url_short_code ON urls (short_code);
--bun:split
CREATE INDEX IF NOT EXISTS url_user_id ON urls (user_id);
--bun:split
CREATE TABLE IF NOT EXISTS events (
    id serial PRIMARY KEY,
    url_id integer REFERENCES urls (id),
    user_id integer REFERENCES users (id),
    event_type varchar(64) NOT NULL,
    "timestamp" timestamp NOT NULL,
    details text NOT NULL
);
--bun:split
CREATE INDEX IF NOT EXISTS event_url_id ON events (url_id);
--bun:split
CREATE INDEX IF NOT EXISTS event_user_id ON events (user_id);
