-- Tags of a link (issue 19): NULL for none, else the sorted, normalised
-- tags between commas (",news,sport,"), which GET /urls filters with LIKE.
ALTER TABLE urls ADD COLUMN tags varchar(400);
