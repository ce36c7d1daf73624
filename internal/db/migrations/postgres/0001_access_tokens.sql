-- Access tokens: Liaison's own private integrations. Only hashes of secrets
-- are kept. During a "rotate and expire later" the previous secret keeps
-- working until previous_expires_at.
CREATE TABLE access_tokens (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    scopes              TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    last_used_at        TIMESTAMPTZ,
    secret_hash         BYTEA NOT NULL UNIQUE,
    secret_hint         TEXT NOT NULL,
    previous_hash       BYTEA UNIQUE,
    previous_hint       TEXT,
    previous_expires_at TIMESTAMPTZ
);
