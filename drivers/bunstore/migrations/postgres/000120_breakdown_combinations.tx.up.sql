-- Click breakdown by combination (issue 12): curtain_click_breakdown keeps
-- one row per URL, hour and combination of a click's values (kind, bot,
-- device, browser, OS, referrer host, country) instead of one per
-- dimension and value, so the insert trigger does one upsert per distinct
-- combination of a URL-hour instead of six or seven; ClickBreakdown sums
-- each dimension over the rows. An empty text is a dimension the row does
-- not count (a bot's device, a human's bot name, a click without a
-- country). The rows of migration 000110 are carried over one to one, each
-- counting only its own dimension (the others empty, kind too), so every
-- breakdown answers as before. Text columns compare bytewise (COLLATE "C"):
-- the primary key is compared on every upsert, and no reader orders by it.
--
-- Writers of events wait for this migration, so no click is counted in the
-- old table after it is copied.
LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE;
--bun:split
CREATE TABLE curtain_click_combinations (
    url_id integer NOT NULL,
    hour timestamp NOT NULL,
    kind varchar(8) COLLATE "C" NOT NULL,
    bot varchar(128) COLLATE "C" NOT NULL,
    device varchar(16) COLLATE "C" NOT NULL,
    browser varchar(64) COLLATE "C" NOT NULL,
    os varchar(64) COLLATE "C" NOT NULL,
    referrer varchar(255) COLLATE "C" NOT NULL,
    country varchar(2) COLLATE "C" NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (url_id, hour, kind, bot, device, browser, os, referrer, country)
);
--bun:split
INSERT INTO curtain_click_combinations (url_id, hour, kind, bot, device, browser, os, referrer, country, n)
SELECT url_id, hour,
    CASE WHEN dimension = 'kind' THEN value ELSE '' END,
    CASE WHEN dimension = 'bot' THEN value ELSE '' END,
    CASE WHEN dimension = 'device' THEN value ELSE '' END,
    CASE WHEN dimension = 'browser' THEN value ELSE '' END,
    CASE WHEN dimension = 'os' THEN value ELSE '' END,
    CASE WHEN dimension = 'referrer' THEN value ELSE '' END,
    CASE WHEN dimension = 'country' THEN value ELSE '' END,
    n
FROM curtain_click_breakdown
WHERE value <> '' AND dimension IN ('kind', 'bot', 'device', 'browser', 'os', 'referrer', 'country');
--bun:split
DROP TRIGGER IF EXISTS curtain_events_break_down ON events;
--bun:split
DROP TABLE curtain_click_breakdown;
--bun:split
ALTER TABLE curtain_click_combinations RENAME TO curtain_click_breakdown;
--bun:split
ALTER INDEX curtain_click_combinations_pkey RENAME TO curtain_click_breakdown_pkey;
--bun:split
CREATE OR REPLACE FUNCTION curtain_break_down_clicks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO curtain_click_breakdown AS b (url_id, hour, kind, bot, device, browser, os, referrer, country, n)
    SELECT e.url_id, date_trunc('hour', e."timestamp"),
        CASE WHEN e.ua_bot IS NULL THEN 'human' ELSE 'bot' END,
        coalesce(e.ua_bot, ''),
        CASE WHEN e.ua_bot IS NULL THEN e.ua_device ELSE '' END,
        CASE WHEN e.ua_bot IS NULL THEN coalesce(e.ua_browser, '') ELSE '' END,
        CASE WHEN e.ua_bot IS NULL THEN coalesce(e.ua_os, '') ELSE '' END,
        CASE WHEN e.ua_bot IS NULL THEN coalesce(e.referrer_host, '') ELSE '' END,
        CASE WHEN e.ua_bot IS NULL THEN coalesce(e.country, '') ELSE '' END,
        count(*)
    FROM curtain_new_clicks AS e
    WHERE e.url_id IS NOT NULL AND e.ua_device IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    ON CONFLICT (url_id, hour, kind, bot, device, browser, os, referrer, country) DO UPDATE SET n = b.n + excluded.n;
    RETURN NULL;
END $$;
--bun:split
CREATE TRIGGER curtain_events_break_down AFTER INSERT ON events
REFERENCING NEW TABLE AS curtain_new_clicks
FOR EACH STATEMENT EXECUTE FUNCTION curtain_break_down_clicks();
