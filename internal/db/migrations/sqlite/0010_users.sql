-- People who sign in to the web UI (issue 15). email is stored trimmed
-- and lower-case, so that it is unique as people mean it. password_hash is
-- bcrypt's, NULL until an invited user chooses a password.
-- manages_integrations is the right to manage private integrations.
CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    email                TEXT NOT NULL UNIQUE,
    password_hash        TEXT,
    role                 TEXT NOT NULL,
    manages_integrations INTEGER NOT NULL DEFAULT 0,
    disabled             INTEGER NOT NULL DEFAULT 0,
    created_at           DATETIME NOT NULL,
    updated_at           DATETIME NOT NULL,
    last_sign_in_at      DATETIME
);

-- A signed-in browser. The cookie holds id and a secret; only the secret's
-- SHA-256 is stored. A session ends when it has been idle too long
-- (last_seen_at), at expires_at whatever happens, at sign-out, or when its
-- user is disabled or given a new password.
CREATE TABLE user_sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_hash  BLOB NOT NULL,
    created_at   DATETIME NOT NULL,
    last_seen_at DATETIME NOT NULL,
    expires_at   DATETIME NOT NULL
);
CREATE INDEX user_sessions_user_id ON user_sessions (user_id);

-- One-time links: the setup of the first admin (no user_id), an
-- invitation or a password reset. Only the token's SHA-256 is stored;
-- used_at is set by the statement that redeems it, so it is used once.
CREATE TABLE user_links (
    token_hash BLOB PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    TEXT REFERENCES users(id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME
);

-- Failed sign-ins per key: 'address:IP' or 'account:EMAIL' (an email that
-- names no user is counted all the same, so throttling does not tell who
-- exists). failures counts the failures of the window that ends at
-- window_ends_at; from the threshold on, retry_at is when the next attempt
-- is heard. Kept in the database so that every web process sees them.
CREATE TABLE sign_in_failures (
    key            TEXT PRIMARY KEY,
    failures       INTEGER NOT NULL DEFAULT 0,
    window_ends_at DATETIME NOT NULL,
    retry_at       DATETIME,
    updated_at     DATETIME NOT NULL
);
