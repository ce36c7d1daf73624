-- The web UI's recent API calls, newest first, paged by (created_at, id).
CREATE INDEX calls_created_at ON calls (created_at, id);
