-- The country breakdown (issue 19): the ISO country code the host's GeoIP
-- database gave a click (analytics.geoip_path), kept with its redirect
-- event and counted, for human visitors, as the dimension "country" of
-- curtain_click_breakdown by the insert trigger of migration 000110,
-- recreated here with it.
ALTER TABLE events ADD COLUMN country varchar(2);
--bun:split
DROP TRIGGER IF EXISTS curtain_events_break_down;
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
        UNION ALL SELECT 'country', CASE WHEN NEW.ua_bot IS NULL THEN NEW.country END
    ) AS d
    WHERE d.value IS NOT NULL
    ON CONFLICT (url_id, hour, dimension, value) DO UPDATE SET n = n + 1;
END;
