-- The password of a protected link (issue 19), as its hash (bcrypt), NULL
-- for an open link.
ALTER TABLE urls ADD COLUMN password_hash varchar(255);
