-- Connections: how Liaison is allowed to talk to another service. Every
-- secret column holds a value sealed with the key ring (secret.Ring), bound
-- to its row and column ("connection:<id>:<column>"); none is plaintext.
-- token_version grows with every token write: the refresher compares it to
-- tell "still the stale token" from "someone refreshed it meanwhile".
CREATE TABLE connections (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    auth_type            TEXT NOT NULL,
    status               TEXT NOT NULL,
    base_url             TEXT NOT NULL,
    allowed_hosts        TEXT NOT NULL,
    headers              TEXT NOT NULL,
    client_id            TEXT NOT NULL DEFAULT '',
    client_secret        TEXT NOT NULL DEFAULT '',
    authorization_url    TEXT NOT NULL DEFAULT '',
    token_url            TEXT NOT NULL DEFAULT '',
    revocation_url       TEXT NOT NULL DEFAULT '',
    discovery_url        TEXT NOT NULL DEFAULT '',
    issuer               TEXT NOT NULL DEFAULT '',
    scopes               TEXT NOT NULL,
    client_auth          TEXT NOT NULL DEFAULT '',
    pkce                 INTEGER NOT NULL DEFAULT 1,
    authorization_params TEXT NOT NULL,
    static_token         TEXT NOT NULL DEFAULT '',
    api_key_in           TEXT NOT NULL DEFAULT '',
    api_key_name         TEXT NOT NULL DEFAULT '',
    api_key_value        TEXT NOT NULL DEFAULT '',
    test_path            TEXT NOT NULL DEFAULT '',
    last_error           TEXT NOT NULL DEFAULT '',
    access_token         TEXT NOT NULL DEFAULT '',
    refresh_token        TEXT NOT NULL DEFAULT '',
    token_obtained_at    DATETIME,
    token_expires_at     DATETIME,
    token_version        INTEGER NOT NULL DEFAULT 0,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL
);
CREATE INDEX connections_token_expires_at ON connections (token_expires_at);

-- Authorization requests in flight: the state parameter (kept as a SHA-256
-- hash), single use, bound to its connection, with the PKCE verifier sealed.
CREATE TABLE oauth_states (
    state_hash    TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    code_verifier TEXT NOT NULL DEFAULT '',
    redirect_uri  TEXT NOT NULL,
    created_at    DATETIME NOT NULL,
    expires_at    DATETIME NOT NULL
);
CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);

-- Liaison's own events (connection.needs_reauth, …). Written here by
-- connections.StoreEvents until the delivery engine takes them over and
-- delivers them to subscribed webhooks.
CREATE TABLE system_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    occurred_at DATETIME NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX system_events_type_occurred_at ON system_events (type, occurred_at);
