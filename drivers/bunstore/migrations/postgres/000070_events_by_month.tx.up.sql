-- Events partitioned by month (issue 18): declarative range partitions on
-- "timestamp", one per calendar month (events_YYYY_MM), created ahead by
-- curtain_events_add_partitions (here, and every 12 hours by the consumer),
-- and a default partition for every other timestamp (imported history,
-- clock skew). Unique indexes of a partitioned table must hold the
-- partition key, so the primary key becomes (id, "timestamp") and the
-- click id's (click_id, "timestamp"); a replayed click carries the same
-- time, so a replay still inserts nothing.
--
-- Only an empty events table is converted. A database adopted with its
-- events (the reference's, or Curtain's own from before this migration)
-- keeps its plain table, which every query serves the same way
-- (docs/capacity.md says how to move one into a partitioned database).
CREATE OR REPLACE FUNCTION curtain_events_add_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    first date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    lo date;
    hi date;
    part text;
    made integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass('events')) THEN
        RETURN 0;
    END IF;
    FOR i IN 0..months_ahead LOOP
        lo := first + make_interval(months => i);
        hi := lo + interval '1 month';
        part := 'events_' || to_char(lo, 'YYYY_MM');
        CONTINUE WHEN to_regclass(quote_ident(part)) IS NOT NULL;
        -- Rows of the month already in the default partition move into
        -- the new one before it is attached; writers of the default
        -- partition wait meanwhile. Statement triggers of events do not
        -- fire for statements on a partition, so the counts stay as
        -- they are.
        LOCK TABLE events_default IN SHARE ROW EXCLUSIVE MODE;
        EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
        EXECUTE format('WITH moved AS (DELETE FROM events_default WHERE "timestamp" >= %L AND "timestamp" < %L RETURNING *) '
            'INSERT INTO %I SELECT * FROM moved', lo, hi, part);
        EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
        made := made + 1;
    END LOOP;
    RETURN made;
END $$;
--bun:split
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'events'::regclass) THEN
        RETURN;
    END IF;
    LOCK TABLE events IN ACCESS EXCLUSIVE MODE;
    IF EXISTS (SELECT 1 FROM events) THEN
        -- Kept plain; its click id index takes the partitioned shape, so
        -- that one conflict target serves both.
        DROP INDEX events_click_id;
        CREATE UNIQUE INDEX events_click_id ON events (click_id, "timestamp");
        RETURN;
    END IF;
    CREATE TABLE curtain_events_by_month (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
        PARTITION BY RANGE ("timestamp");
    ALTER SEQUENCE events_id_seq OWNED BY NONE;
    DROP TABLE events;
    ALTER TABLE curtain_events_by_month RENAME TO events;
    ALTER SEQUENCE events_id_seq OWNED BY events.id;
    ALTER TABLE events ADD PRIMARY KEY (id, "timestamp");
    ALTER TABLE events ADD FOREIGN KEY (url_id) REFERENCES urls (id);
    ALTER TABLE events ADD FOREIGN KEY (user_id) REFERENCES users (id);
    CREATE UNIQUE INDEX events_click_id ON events (click_id, "timestamp");
    CREATE INDEX event_url_id ON events (url_id);
    CREATE INDEX event_user_id ON events (user_id);
    CREATE TABLE events_default PARTITION OF events DEFAULT;
    -- The counting triggers of 000003, on the new table.
    CREATE TRIGGER curtain_events_insert_counts AFTER INSERT ON events
        REFERENCING NEW TABLE AS curtain_new_events
        FOR EACH STATEMENT EXECUTE FUNCTION curtain_count_inserted_events();
    CREATE TRIGGER curtain_events_delete_counts AFTER DELETE ON events
        REFERENCING OLD TABLE AS curtain_old_events
        FOR EACH STATEMENT EXECUTE FUNCTION curtain_count_deleted_events();
    CREATE TRIGGER curtain_events_refuse_move BEFORE UPDATE OF url_id, event_type, "timestamp" ON events
        FOR EACH ROW WHEN (OLD.url_id IS DISTINCT FROM NEW.url_id OR OLD.event_type IS DISTINCT FROM NEW.event_type
            OR OLD."timestamp" IS DISTINCT FROM NEW."timestamp")
        EXECUTE FUNCTION curtain_refuse_event_move();
    PERFORM curtain_events_add_partitions(3);
END $$;
