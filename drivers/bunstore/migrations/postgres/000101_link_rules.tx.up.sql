-- The rule-based redirects of a link (issue 19) as a JSON list, NULL for
-- none.
ALTER TABLE urls ADD COLUMN IF NOT EXISTS rules text;
