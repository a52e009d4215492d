-- The country breakdown (issue 19): the ISO country code the host's GeoIP
-- database gave a click (analytics.geoip_path), kept with its redirect
-- event and counted, for human visitors, as the dimension "country" of
-- curtain_click_breakdown by the insert trigger of migration 000110.
ALTER TABLE events ADD COLUMN IF NOT EXISTS country varchar(2);
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
        ('referrer', CASE WHEN e.ua_bot IS NULL THEN e.referrer_host END),
        ('country', CASE WHEN e.ua_bot IS NULL THEN e.country END)
    ) AS d(dimension, value)
    WHERE e.url_id IS NOT NULL AND e.ua_device IS NOT NULL AND d.value IS NOT NULL
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (url_id, hour, dimension, value) DO UPDATE SET n = b.n + excluded.n;
    RETURN NULL;
END $$;
