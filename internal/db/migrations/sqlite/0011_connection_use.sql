-- A connection can be paused (paused_at is set): nothing is sent through
-- it, and the work that needs it waits, until it is resumed. last_used_at
-- is when a request last went through it, written at most once a minute.
ALTER TABLE connections ADD COLUMN paused_at DATETIME;
ALTER TABLE connections ADD COLUMN last_used_at DATETIME;

-- Every refresh attempt of an OAuth connection's token: when, ok or
-- failed, and why in plain words (the provider's error and description,
-- never a token). Only the latest 20 per connection are kept.
CREATE TABLE connection_refreshes (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    at            DATETIME NOT NULL,
    outcome       TEXT NOT NULL,
    error         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX connection_refreshes_connection_at ON connection_refreshes (connection_id, at);

-- During a rotation, when the previous secret was last used; last_used_at
-- stays the primary secret's.
ALTER TABLE access_tokens ADD COLUMN previous_last_used_at DATETIME;
