-- Tracking schema, version 1 (SQLite). Times are milliseconds since the Unix
-- epoch. Keep in step with ../postgres/0001_init.sql.

CREATE TABLE experiments (
    experiment_id     INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL UNIQUE,
    artifact_location TEXT    NOT NULL DEFAULT '',
    lifecycle_stage   TEXT    NOT NULL DEFAULT 'active',
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL
);

INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
VALUES (0, 'Default', '', 'active', CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER));

CREATE TABLE experiment_tags (
    experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
    key           TEXT    NOT NULL,
    value         TEXT    NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE runs (
    run_id          TEXT    PRIMARY KEY,
    experiment_id   INTEGER NOT NULL REFERENCES experiments (experiment_id),
    name            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    start_time      INTEGER NOT NULL,
    end_time        INTEGER,
    parent_run_id   TEXT    NOT NULL DEFAULT '',
    source_notebook TEXT    NOT NULL DEFAULT '',
    artifact_uri    TEXT    NOT NULL,
    lifecycle_stage TEXT    NOT NULL DEFAULT 'active',
    deleted_time    INTEGER
);
CREATE INDEX runs_by_experiment ON runs (experiment_id, lifecycle_stage, start_time);
CREATE INDEX runs_by_parent ON runs (parent_run_id);

CREATE TABLE run_tags (
    run_id TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX run_tags_by_key ON run_tags (key, value);

CREATE TABLE params (
    run_id TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX params_by_key ON params (key, value);

-- The latest value of each metric of each run (for search and run pages),
-- and how many of its points still wait in metric_points.
CREATE TABLE latest_metrics (
    run_id  TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    value   REAL,             -- NULL when the value is NaN
    is_nan  INTEGER NOT NULL,
    step    INTEGER NOT NULL,
    ts      INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX latest_metrics_by_key ON latest_metrics (key, value);

-- Recent points of a metric, one row each, in logging order (id); moved
-- into metric_blocks in bulk.
CREATE TABLE metric_points (
    id     INTEGER PRIMARY KEY,
    run_id TEXT    NOT NULL,
    key    TEXT    NOT NULL,
    step   INTEGER NOT NULL,
    ts     INTEGER NOT NULL,
    bits   INTEGER NOT NULL  -- IEEE 754 bits of the value
);
CREATE INDEX metric_points_by_series ON metric_points (run_id, key, id);

-- A metric's history in blocks of packed points (see sqldb/blocks.go), in
-- logging order (seq).
CREATE TABLE metric_blocks (
    run_id    TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    last_step INTEGER NOT NULL,
    last_ts   INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (run_id, key, seq)
);

CREATE TABLE run_inputs (
    run_id       TEXT NOT NULL,
    name         TEXT NOT NULL,
    digest       TEXT NOT NULL,
    source_type  TEXT NOT NULL,
    source       TEXT NOT NULL,
    schema_json  TEXT NOT NULL,
    profile_json TEXT NOT NULL,
    context      TEXT NOT NULL,
    PRIMARY KEY (run_id, name, digest)
);
