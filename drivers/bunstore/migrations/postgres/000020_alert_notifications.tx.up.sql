-- The alerts `curtain notify` has delivered, firing and not yet resolved,
-- by fingerprint, so that a restarted notify sends no duplicate and still
-- sends each resolution.
CREATE TABLE IF NOT EXISTS curtain_alert_notifications (
    fingerprint varchar(64) PRIMARY KEY,
    alert text NOT NULL,
    sent_at timestamp NOT NULL
);
