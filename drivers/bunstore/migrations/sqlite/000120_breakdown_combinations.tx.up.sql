-- Click breakdown by combination (issue 12): curtain_click_breakdown keeps
-- one row per URL, hour and combination of a click's values (kind, bot,
-- device, browser, OS, referrer host, country) instead of one per
-- dimension and value, as on PostgreSQL (see its migration 000120): the
-- insert trigger does one upsert per click instead of six or seven, and
-- ClickBreakdown sums each dimension over the rows. An empty text is a
-- dimension the row does not count. The rows of migration 000110 are
-- carried over one to one, each counting only its own dimension. The
-- triggers that name the table are dropped before it is replaced and
-- created again after.
CREATE TABLE curtain_click_combinations (
    url_id integer NOT NULL,
    hour timestamp NOT NULL,
    kind varchar(8) NOT NULL,
    bot varchar(128) NOT NULL,
    device varchar(16) NOT NULL,
    browser varchar(64) NOT NULL,
    os varchar(64) NOT NULL,
    referrer varchar(255) NOT NULL,
    country varchar(2) NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (url_id, hour, kind, bot, device, browser, os, referrer, country)
) WITHOUT ROWID;
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
DROP TRIGGER IF EXISTS curtain_events_break_down;
--bun:split
DROP TRIGGER IF EXISTS curtain_urls_forget_breakdown;
--bun:split
DROP TABLE curtain_click_breakdown;
--bun:split
ALTER TABLE curtain_click_combinations RENAME TO curtain_click_breakdown;
--bun:split
CREATE TRIGGER curtain_events_break_down AFTER INSERT ON events
WHEN NEW.url_id IS NOT NULL AND NEW.ua_device IS NOT NULL
BEGIN
    INSERT INTO curtain_click_breakdown (url_id, hour, kind, bot, device, browser, os, referrer, country, n)
    VALUES (NEW.url_id, strftime('%Y-%m-%d %H:00:00', NEW."timestamp"),
        CASE WHEN NEW.ua_bot IS NULL THEN 'human' ELSE 'bot' END,
        coalesce(NEW.ua_bot, ''),
        CASE WHEN NEW.ua_bot IS NULL THEN NEW.ua_device ELSE '' END,
        CASE WHEN NEW.ua_bot IS NULL THEN coalesce(NEW.ua_browser, '') ELSE '' END,
        CASE WHEN NEW.ua_bot IS NULL THEN coalesce(NEW.ua_os, '') ELSE '' END,
        CASE WHEN NEW.ua_bot IS NULL THEN coalesce(NEW.referrer_host, '') ELSE '' END,
        CASE WHEN NEW.ua_bot IS NULL THEN coalesce(NEW.country, '') ELSE '' END,
        1)
    ON CONFLICT (url_id, hour, kind, bot, device, browser, os, referrer, country) DO UPDATE SET n = n + 1;
END;
--bun:split
CREATE TRIGGER curtain_urls_forget_breakdown AFTER DELETE ON urls
BEGIN
    DELETE FROM curtain_click_breakdown WHERE url_id = OLD.id;
END;
