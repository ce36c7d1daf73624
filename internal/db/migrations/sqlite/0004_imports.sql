-- Feed imports, their runs, and the catalogue items they keep.
CREATE TABLE imports (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    connection_id      TEXT,
    url                TEXT NOT NULL,
    format             TEXT NOT NULL,
    item_path          TEXT NOT NULL DEFAULT '',
    mapping            TEXT NOT NULL,
    schedule           TEXT NOT NULL DEFAULT '',
    timezone           TEXT NOT NULL DEFAULT '',
    enabled            INTEGER NOT NULL,
    time_limit_seconds INTEGER NOT NULL,
    bad_row_threshold  REAL NOT NULL,
    etag               TEXT NOT NULL DEFAULT '',
    last_modified      TEXT NOT NULL DEFAULT '',
    created_at         DATETIME NOT NULL,
    updated_at         DATETIME NOT NULL
);

CREATE TABLE import_runs (
    id               TEXT PRIMARY KEY,
    import_id        TEXT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    status           TEXT NOT NULL,
    trigger          TEXT NOT NULL,
    queued_at        DATETIME NOT NULL,
    started_at       DATETIME,
    finished_at      DATETIME,
    bytes            INTEGER NOT NULL DEFAULT 0,
    bytes_total      INTEGER,
    items            INTEGER NOT NULL DEFAULT 0,
    created          INTEGER NOT NULL DEFAULT 0,
    updated          INTEGER NOT NULL DEFAULT 0,
    unchanged        INTEGER NOT NULL DEFAULT 0,
    removed          INTEGER NOT NULL DEFAULT 0,
    bad              INTEGER NOT NULL DEFAULT 0,
    errors           TEXT NOT NULL DEFAULT '[]',
    message          TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX import_runs_by_import ON import_runs (import_id, id);
-- At most one run of an import is queued or running at a time.
CREATE UNIQUE INDEX import_runs_one_active ON import_runs (import_id) WHERE status IN ('queued', 'running');

CREATE TABLE catalog_items (
    import_id     TEXT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    external_id   TEXT NOT NULL,
    hash          BLOB NOT NULL,
    fields        TEXT NOT NULL,
    status        TEXT NOT NULL,
    last_seen_run TEXT NOT NULL,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL,
    PRIMARY KEY (import_id, external_id)
);
CREATE INDEX catalog_items_active ON catalog_items (import_id, status, last_seen_run);
