-- Access tokens: Liaison's own private integrations. Only hashes of secrets
-- are kept. During a "rotate and expire later" the previous secret keeps
-- working until previous_expires_at.
CREATE TABLE access_tokens (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    scopes              TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL,
    last_used_at        DATETIME,
    secret_hash         BLOB NOT NULL UNIQUE,
    secret_hint         TEXT NOT NULL,
    previous_hash       BLOB UNIQUE,
    previous_hint       TEXT,
    previous_expires_at DATETIME
);
