-- Per-URL, per-type event counts for analytics (fix of Q26), kept exact by
-- triggers in the transaction that writes the events, so every path (API,
-- consumer, import, bulk SQL) keeps them; backfilled from the events a
-- database already holds.
CREATE TABLE IF NOT EXISTS curtain_event_counts (
    url_id integer NOT NULL,
    event_type varchar(64) NOT NULL,
    n bigint NOT NULL,
    latest timestamp NOT NULL,
    PRIMARY KEY (url_id, event_type)
) WITHOUT ROWID;
--bun:split
CREATE TRIGGER IF NOT EXISTS curtain_events_insert_counts AFTER INSERT ON events
WHEN NEW.url_id IS NOT NULL
BEGIN
    INSERT INTO curtain_event_counts (url_id, event_type, n, latest)
    VALUES (NEW.url_id, NEW.event_type, 1, NEW."timestamp")
    ON CONFLICT (url_id, event_type) DO UPDATE
    SET n = n + 1, latest = max(latest, excluded.latest);
END;
--bun:split
CREATE TRIGGER IF NOT EXISTS curtain_events_delete_counts AFTER DELETE ON events
WHEN OLD.url_id IS NOT NULL
BEGIN
    UPDATE curtain_event_counts
    SET n = n - 1,
        latest = CASE WHEN OLD."timestamp" < latest THEN latest
            ELSE coalesce((SELECT max(e."timestamp") FROM events AS e
                WHERE e.url_id = OLD.url_id AND e.event_type = OLD.event_type), latest) END
    WHERE url_id = OLD.url_id AND event_type = OLD.event_type;
    DELETE FROM curtain_event_counts
    WHERE url_id = OLD.url_id AND event_type = OLD.event_type AND n <= 0;
END;
--bun:split
CREATE TRIGGER IF NOT EXISTS curtain_events_refuse_move BEFORE UPDATE OF url_id, event_type, "timestamp" ON events
WHEN OLD.url_id IS NOT NEW.url_id OR OLD.event_type IS NOT NEW.event_type OR OLD."timestamp" IS NOT NEW."timestamp"
BEGIN
    SELECT RAISE(ABORT, 'events.url_id, event_type and timestamp are not updated in place (curtain_event_counts counts them)');
END;
--bun:split
DELETE FROM curtain_event_counts;
--bun:split
INSERT INTO curtain_event_counts (url_id, event_type, n, latest)
SELECT url_id, event_type, count(*), max("timestamp")
FROM events
WHERE url_id IS NOT NULL
GROUP BY url_id, event_type;
