-- Custom short codes (issue 19): a link whose code the client chose. Such
-- a link has options of its own and is never reused by find-if-exists.
ALTER TABLE urls ADD COLUMN custom_code boolean NOT NULL DEFAULT false;
