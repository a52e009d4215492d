-- Analytics breakdowns (issue 19): each redirect event stored from a click
-- keeps its User-Agent and Referer, and what the consumer derived from them
-- in Go (device, browser, OS, bot name, referrer host); a trigger adds every
-- inserted click to curtain_click_breakdown, per URL, hour, dimension and
-- value, in the transaction of the insert, so a breakdown reads a number of
-- rows that depends on the period and the distinct values, never on the
-- number of clicks. Deleting events (retention) leaves the breakdown as it
-- is, like the totals; deleting a link removes its rows. Events written
-- before this migration, and events not stored from clicks, have NULL
-- columns and are not in the breakdown.
ALTER TABLE events ADD COLUMN user_agent text;
--bun:split
ALTER TABLE events ADD COLUMN referrer text;
--bun:split
ALTER TABLE events ADD COLUMN ua_device varchar(16);
--bun:split
ALTER TABLE events ADD COLUMN ua_browser varchar(64);
--bun:split
ALTER TABLE events ADD COLUMN ua_os varchar(64);
--bun:split
ALTER TABLE events ADD COLUMN ua_bot varchar(128);
--bun:split
ALTER TABLE events ADD COLUMN referrer_host varchar(255);
--bun:split
CREATE TABLE IF NOT EXISTS curtain_click_breakdown (
    url_id integer NOT NULL,
    hour timestamp NOT NULL,
    dimension varchar(16) NOT NULL,
    value varchar(255) NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (url_id, hour, dimension, value)
) WITHOUT ROWID;
--bun:split
CREATE TRIGGER IF NOT EXISTS curtain_events_break_down AFTER INSERT ON events
WHEN NEW.url_id IS NOT NULL AND NEW.ua_device IS NOT NULL
BEGIN
    INSERT INTO curtain_click_breakdown (url_id, hour, dimension, value, n)
    SELECT NEW.url_id, strftime('%Y-%m-%d %H:00:00', NEW."timestamp"), d.dimension, d.value, 1
    FROM (
        SELECT 'kind' AS dimension, CASE WHEN NEW.ua_bot IS NULL THEN 'human' ELSE 'bot' END AS value
        UNION ALL SELECT 'bot', NEW.ua_bot
        UNION ALL SELECT 'device', CASE WHEN NEW.ua_bot IS NULL THEN NEW.ua_device END
        UNION ALL SELECT 'browser', CASE WHEN NEW.ua_bot IS NULL THEN NEW.ua_browser END
        UNION ALL SELECT 'os', CASE WHEN NEW.ua_bot IS NULL THEN NEW.ua_os END
        UNION ALL SELECT 'referrer', CASE WHEN NEW.ua_bot IS NULL THEN NEW.referrer_host END
    ) AS d
    WHERE d.value IS NOT NULL
    ON CONFLICT (url_id, hour, dimension, value) DO UPDATE SET n = n + 1;
END;
--bun:split
CREATE TRIGGER IF NOT EXISTS curtain_urls_forget_breakdown AFTER DELETE ON urls
BEGIN
    DELETE FROM curtain_click_breakdown WHERE url_id = OLD.id;
END;
