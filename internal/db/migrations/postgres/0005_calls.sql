-- API-call nodes (hooks package): one HTTP call through a connection for an
-- automation scenario step. state is queued, running, retrying, postponed
-- (the connection needs reauthorization), succeeded or failed. attempts
-- counts every attempt made (it numbers them); retry_base counts those that
-- did not use up the schedule (429 answers), so the schedule's round is
-- attempts - retry_base. schedule is the call's own retry schedule in
-- hooks.ParseSchedule's form. body is NULL for no body. request_hash is the
-- SHA-256 of the normalised request, which an idempotency key is compared
-- by. callback_secret is sealed with the key ring ("call:<id>:callback_secret").
-- When a call with a callback_url ends, its result goes out as a delivery
-- (target_kind 'call', target_id the call) of a call.completed event;
-- callback_delivery_id names it.
CREATE TABLE calls (
    id                   TEXT PRIMARY KEY,
    connection_id        TEXT NOT NULL,
    method               TEXT NOT NULL,
    path                 TEXT NOT NULL,
    query                JSONB NOT NULL,
    headers              JSONB NOT NULL,
    body                 TEXT,
    idempotency_key      TEXT UNIQUE,
    request_hash         TEXT NOT NULL,
    callback_url         TEXT NOT NULL DEFAULT '',
    callback_secret      TEXT NOT NULL DEFAULT '',
    callback_delivery_id TEXT NOT NULL DEFAULT '',
    schedule             TEXT NOT NULL,
    retry_4xx            BOOLEAN NOT NULL DEFAULT FALSE,
    timeout_ms           INTEGER NOT NULL DEFAULT 0,
    state                TEXT NOT NULL,
    attempts             INTEGER NOT NULL DEFAULT 0,
    retry_base           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at      TIMESTAMPTZ,
    last_status          INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT NOT NULL DEFAULT '',
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    finished_at          TIMESTAMPTZ
);
CREATE INDEX calls_state ON calls (state, next_attempt_at);
CREATE INDEX calls_connection ON calls (connection_id, state);
CREATE INDEX calls_finished_at ON calls (finished_at);

-- An attempt now belongs to a delivery or to a call: exactly one of
-- delivery_id and call_id is set, and removing either removes its attempts.
ALTER TABLE attempts DROP CONSTRAINT attempts_pkey;
ALTER TABLE attempts ALTER COLUMN delivery_id DROP NOT NULL;
ALTER TABLE attempts ADD COLUMN call_id TEXT REFERENCES calls (id) ON DELETE CASCADE;
ALTER TABLE attempts ADD CONSTRAINT attempts_one_owner CHECK ((delivery_id IS NULL) <> (call_id IS NULL));
CREATE UNIQUE INDEX attempts_delivery ON attempts (delivery_id, number);
CREATE UNIQUE INDEX attempts_call ON attempts (call_id, number);

-- Per-connection limits, shared by every call through the connection and
-- held across every worker process (in Redis); 0 is unlimited.
ALTER TABLE connections ADD COLUMN rate_limit DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN max_concurrency INTEGER NOT NULL DEFAULT 0;
