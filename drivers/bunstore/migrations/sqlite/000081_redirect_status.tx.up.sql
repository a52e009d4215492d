-- A link's own redirect status (issue 19): 301, 302, 307 or 308; NULL
-- redirects with the deployment's (links.redirect_status).
ALTER TABLE urls ADD COLUMN redirect_status smallint;
