-- Per-URL, per-type event counts for analytics (fix of Q26), kept exact by
-- statement-level triggers in the transaction that writes the events, so
-- every path (API, consumer, import, bulk SQL) keeps them, and backfilled
-- here when Curtain adopts or upgrades a database. Writers of events wait
-- for this migration, so no event is missed between backfill and triggers.
LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE;
--bun:split
CREATE TABLE IF NOT EXISTS curtain_event_counts (
    url_id integer NOT NULL,
    event_type varchar(64) NOT NULL,
    n bigint NOT NULL,
    latest timestamp NOT NULL,
    PRIMARY KEY (url_id, event_type)
);
--bun:split
CREATE OR REPLACE FUNCTION curtain_count_inserted_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO curtain_event_counts AS c (url_id, event_type, n, latest)
    SELECT url_id, event_type, count(*), max("timestamp")
    FROM curtain_new_events
    WHERE url_id IS NOT NULL
    GROUP BY url_id, event_type
    ORDER BY url_id, event_type
    ON CONFLICT (url_id, event_type) DO UPDATE
    SET n = c.n + excluded.n, latest = GREATEST(c.latest, excluded.latest);
    RETURN NULL;
END $$;
--bun:split
CREATE OR REPLACE FUNCTION curtain_count_deleted_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE curtain_event_counts AS c
    SET n = c.n - d.n,
        latest = CASE WHEN d.latest < c.latest THEN c.latest
            ELSE COALESCE((SELECT max(e."timestamp") FROM events AS e
                WHERE e.url_id = c.url_id AND e.event_type = c.event_type), c.latest) END
    FROM (SELECT url_id, event_type, count(*) AS n, max("timestamp") AS latest
        FROM curtain_old_events WHERE url_id IS NOT NULL
        GROUP BY url_id, event_type) AS d
    WHERE c.url_id = d.url_id AND c.event_type = d.event_type;
    DELETE FROM curtain_event_counts AS c
    WHERE c.n <= 0 AND c.url_id IN (SELECT url_id FROM curtain_old_events);
    RETURN NULL;
END $$;
--bun:split
CREATE OR REPLACE FUNCTION curtain_refuse_event_move() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events.url_id, event_type and timestamp are not updated in place (curtain_event_counts counts them)'
        USING ERRCODE = 'check_violation';
END $$;
--bun:split
DROP TRIGGER IF EXISTS curtain_events_insert_counts ON events;
--bun:split
CREATE TRIGGER curtain_events_insert_counts AFTER INSERT ON events
REFERENCING NEW TABLE AS curtain_new_events
FOR EACH STATEMENT EXECUTE FUNCTION curtain_count_inserted_events();
--bun:split
DROP TRIGGER IF EXISTS curtain_events_delete_counts ON events;
--bun:split
CREATE TRIGGER curtain_events_delete_counts AFTER DELETE ON events
REFERENCING OLD TABLE AS curtain_old_events
FOR EACH STATEMENT EXECUTE FUNCTION curtain_count_deleted_events();
--bun:split
DROP TRIGGER IF EXISTS curtain_events_refuse_move ON events;
--bun:split
CREATE TRIGGER curtain_events_refuse_move BEFORE UPDATE OF url_id, event_type, "timestamp" ON events
FOR EACH ROW WHEN (OLD.url_id IS DISTINCT FROM NEW.url_id OR OLD.event_type IS DISTINCT FROM NEW.event_type
    OR OLD."timestamp" IS DISTINCT FROM NEW."timestamp")
EXECUTE FUNCTION curtain_refuse_event_move();
--bun:split
DELETE FROM curtain_event_counts;
--bun:split
INSERT INTO curtain_event_counts (url_id, event_type, n, latest)
SELECT url_id, event_type, count(*), max("timestamp")
FROM events
WHERE url_id IS NOT NULL
GROUP BY url_id, event_type;
