-- Analytics breakdowns (issue 19): each redirect event stored from a click
-- keeps its User-Agent and Referer, and what the consumer derived from them
-- in Go (device, browser, OS, bot name, referrer host); a statement-level
-- trigger adds every inserted click to curtain_click_breakdown, per URL,
-- hour, dimension and value, in the transaction of the insert, so a
-- breakdown reads a number of rows that depends on the period and the
-- distinct values, never on the number of clicks. Deleting events
-- (retention) leaves the breakdown as it is, like the totals; deleting a
-- link removes its rows. Events written before this migration, and events
-- not stored from clicks, have NULL columns and are not in the breakdown.
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS user_agent text,
    ADD COLUMN IF NOT EXISTS referrer text,
    ADD COLUMN IF NOT EXISTS ua_device varchar(16),
    ADD COLUMN IF NOT EXISTS ua_browser varchar(64),
    ADD COLUMN IF NOT EXISTS ua_os varchar(64),
    ADD COLUMN IF NOT EXISTS ua_bot varchar(128),
    ADD COLUMN IF NOT EXISTS referrer_host varchar(255);
--bun:split
CREATE TABLE IF NOT EXISTS curtain_click_breakdown (
    url_id integer NOT NULL,
    hour timestamp NOT NULL,
    dimension varchar(16) NOT NULL,
    value varchar(255) NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (url_id, hour, dimension, value)
);
--bun:split
CREATE OR REPLACE FUNCTION curtain_break_down_clicks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO curtain_click_breakdown AS b (url_id, hour, dimension, value, n)
    SELECT e.url_id, date_trunc('hour', e."timestamp"), d.dimension, d.value, count(*)
    FROM curtain_new_clicks AS e
    CROSS JOIN LATERAL (VALUES
        ('kind', CASE WHEN e.ua_bot IS NULL THEN 'human' ELSE 'bot' END),
        ('bot', e.ua_bot),
        ('device', CASE WHEN e.ua_bot IS NULL THEN e.ua_device END),
        ('browser', CASE WHEN e.ua_bot IS NULL THEN e.ua_browser END),
        ('os', CASE WHEN e.ua_bot IS NULL THEN e.ua_os END),
        ('referrer', CASE WHEN e.ua_bot IS NULL THEN e.referrer_host END)
    ) AS d(dimension, value)
    WHERE e.url_id IS NOT NULL AND e.ua_device IS NOT NULL AND d.value IS NOT NULL
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (url_id, hour, dimension, value) DO UPDATE SET n = b.n + excluded.n;
    RETURN NULL;
END $$;
--bun:split
DROP TRIGGER IF EXISTS curtain_events_break_down ON events;
--bun:split
CREATE TRIGGER curtain_events_break_down AFTER INSERT ON events
REFERENCING NEW TABLE AS curtain_new_clicks
FOR EACH STATEMENT EXECUTE FUNCTION curtain_break_down_clicks();
--bun:split
CREATE OR REPLACE FUNCTION curtain_forget_breakdown() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM curtain_click_breakdown WHERE url_id IN (SELECT id FROM curtain_old_urls);
    RETURN NULL;
END $$;
--bun:split
DROP TRIGGER IF EXISTS curtain_urls_forget_breakdown ON urls;
--bun:split
CREATE TRIGGER curtain_urls_forget_breakdown AFTER DELETE ON urls
REFERENCING OLD TABLE AS curtain_old_urls
FOR EACH STATEMENT EXECUTE FUNCTION curtain_forget_breakdown();
