-- The visits counted of each link with a visit limit (max_visits): every
-- redirect of such a link claims one with a conditional update of this
-- row, so that the limit holds however many visits arrive at once, on
-- however many instances. A link's row starts at its redirect count when
-- it is first visited with a limit.
CREATE TABLE IF NOT EXISTS curtain_link_visits (
    url_id integer PRIMARY KEY REFERENCES urls (id) ON DELETE CASCADE,
    visits bigint NOT NULL
);
