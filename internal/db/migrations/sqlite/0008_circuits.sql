-- A circuit breaker per target that requests go to: a webhook endpoint
-- ('webhook:ID'), an action hook without a connection ('hook:ID') or a
-- connection, shared by its hooks and its API calls ('connection:ID').
-- failures counts the attempts in a row that timed out or could not
-- connect; at the threshold the circuit opens: nothing is sent to the
-- target until retry_at, when one request probes it (probe_until bounds
-- that probe). opens counts the openings in a row, which lengthen the wait.
-- A row exists only for a target that has failed so; none means closed.
CREATE TABLE circuits (
    target      TEXT PRIMARY KEY,
    failures    INTEGER NOT NULL DEFAULT 0,
    opens       INTEGER NOT NULL DEFAULT 0,
    opened_at   DATETIME,
    retry_at    DATETIME,
    probe_until DATETIME,
    last_error  TEXT NOT NULL DEFAULT '',
    updated_at  DATETIME NOT NULL
);
