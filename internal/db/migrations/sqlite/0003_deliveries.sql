-- Events in, deliveries out (hooks package). An event is kept as it came
-- in; a delivery is one event going to one target (an action hook, an
-- event-webhook endpoint, later an API-call node); an attempt is one HTTP
-- request of a delivery, recorded with secrets removed.
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    occurred_at DATETIME NOT NULL,
    received_at DATETIME NOT NULL,
    -- 'api' for the platform's events, 'liaison' for Liaison's own
    -- (delivery.failed, webhook.disabled, connection.needs_reauth).
    source      TEXT NOT NULL,
    profile     TEXT,
    data        TEXT
);
CREATE INDEX events_received_at ON events (received_at);

-- Action hooks. body is the JSON template as the user wrote it; version
-- grows with every edit so workers can cache the compiled template.
CREATE TABLE hooks (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    event_types     TEXT NOT NULL,
    filter          TEXT,
    connection_id   TEXT NOT NULL DEFAULT '',
    method          TEXT NOT NULL,
    url             TEXT NOT NULL,
    headers         TEXT NOT NULL,
    body            TEXT NOT NULL DEFAULT '',
    missing         TEXT NOT NULL DEFAULT 'null',
    enabled         INTEGER NOT NULL,
    max_attempts    INTEGER NOT NULL DEFAULT 0,
    retry_4xx       INTEGER NOT NULL DEFAULT 0,
    timeout_ms      INTEGER NOT NULL DEFAULT 0,
    rate_limit      REAL NOT NULL DEFAULT 0,
    max_concurrency INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL
);

-- Event-webhook endpoints. secret and previous_secret are sealed with the
-- key ring ("webhook:<id>:secret"); previous_secret signs too until
-- previous_expires_at (a rotation overlap). failing_since is the start of
-- an unbroken run of failed attempts; it disables the endpoint when it
-- lasts longer than WEBHOOK_DISABLE_AFTER.
CREATE TABLE webhooks (
    id                  TEXT PRIMARY KEY,
    url                 TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    event_types         TEXT NOT NULL,
    enabled             INTEGER NOT NULL,
    disabled_reason     TEXT NOT NULL DEFAULT '',
    secret              TEXT NOT NULL,
    previous_secret     TEXT NOT NULL DEFAULT '',
    previous_expires_at DATETIME,
    failing_since       DATETIME,
    rate_limit          REAL NOT NULL DEFAULT 0,
    max_concurrency     INTEGER NOT NULL DEFAULT 0,
    version             INTEGER NOT NULL,
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL
);

-- One delivery per (event, target). Its id is the asynq task id, the
-- webhook-id header and the Idempotency-Key of action hooks. attempts
-- counts every attempt ever made (it numbers them); retry_base is where
-- the current round of the schedule started (a manual retry or replay
-- starts a new round).
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    target_kind     TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    retry_base      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    finished_at     DATETIME,
    UNIQUE (event_id, target_kind, target_id)
);
CREATE INDEX deliveries_target ON deliveries (target_kind, target_id, created_at);
CREATE INDEX deliveries_status ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_created_at ON deliveries (created_at);

CREATE TABLE attempts (
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number           INTEGER NOT NULL,
    started_at       DATETIME NOT NULL,
    duration_ms      REAL NOT NULL,
    method           TEXT NOT NULL,
    url              TEXT NOT NULL,
    request_headers  TEXT NOT NULL,
    request_body     TEXT NOT NULL,
    status           INTEGER NOT NULL,
    response_headers TEXT NOT NULL,
    response_body    TEXT NOT NULL,
    truncated        INTEGER NOT NULL,
    error            TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    PRIMARY KEY (delivery_id, number)
);
