-- +goose Up
CREATE TABLE workspaces (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);

CREATE TABLE connections (
    id                 INTEGER PRIMARY KEY,
    workspace_id       INTEGER NOT NULL REFERENCES workspaces(id),
    name               TEXT NOT NULL,
    driver             TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL,
    credentials_sealed TEXT NOT NULL,
    settings           TEXT NOT NULL,
    health             TEXT NOT NULL DEFAULT 'unknown',
    health_message     TEXT NOT NULL DEFAULT '',
    checked_at         TIMESTAMP,
    last_sync_at       TIMESTAMP,
    last_sync_job_id   INTEGER,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE catalogs (
    connection_id INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL,
    catalog       TEXT NOT NULL,
    discovered_at TIMESTAMP NOT NULL
);

CREATE TABLE records (
    workspace_id      INTEGER NOT NULL,
    connection_id     INTEGER NOT NULL,
    entity            TEXT NOT NULL,
    key               TEXT NOT NULL,
    fields            TEXT NOT NULL,
    hash              TEXT NOT NULL,
    remote_updated_at TIMESTAMP,
    first_seen        TIMESTAMP NOT NULL,
    last_seen         TIMESTAMP NOT NULL,
    state             TEXT NOT NULL,
    gone_at           TIMESTAMP,
    seen_job          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, entity, key)
) WITHOUT ROWID;

CREATE TABLE sync_states (
    connection_id  INTEGER NOT NULL,
    entity         TEXT NOT NULL,
    cursor         TEXT NOT NULL DEFAULT '',
    run_job_id     INTEGER,
    run_mode       TEXT NOT NULL DEFAULT '',
    run_cursor     TEXT NOT NULL DEFAULT '',
    run_started_at TIMESTAMP,
    synced_at      TIMESTAMP,
    PRIMARY KEY (connection_id, entity)
);

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    workspace_id     INTEGER NOT NULL,
    connection_id    INTEGER,
    kind             TEXT NOT NULL,
    state            TEXT NOT NULL,
    params           TEXT NOT NULL DEFAULT '{}',
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    read_count       INTEGER NOT NULL DEFAULT 0,
    inserted_count   INTEGER NOT NULL DEFAULT 0,
    updated_count    INTEGER NOT NULL DEFAULT 0,
    unchanged_count  INTEGER NOT NULL DEFAULT 0,
    gone_count       INTEGER NOT NULL DEFAULT 0,
    error            TEXT NOT NULL DEFAULT '',
    result           TEXT NOT NULL DEFAULT '',
    river_id         INTEGER,
    node             TEXT NOT NULL DEFAULT '',
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMP NOT NULL,
    started_at       TIMESTAMP,
    heartbeat_at     TIMESTAMP,
    finished_at      TIMESTAMP
);
CREATE INDEX jobs_workspace ON jobs (workspace_id, id);
CREATE INDEX jobs_state ON jobs (state);

CREATE TABLE job_logs (
    id      INTEGER PRIMARY KEY,
    job_id  INTEGER NOT NULL,
    at      TIMESTAMP NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);

-- +goose Down
DROP TABLE job_logs;
DROP TABLE jobs;
DROP TABLE sync_states;
DROP TABLE records;
DROP TABLE catalogs;
DROP TABLE connections;
DROP TABLE api_tokens;
DROP TABLE workspaces;
