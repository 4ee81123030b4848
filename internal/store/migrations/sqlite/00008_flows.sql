-- +goose Up
-- A flow moves records of one connection's entity to another's. Its mapping, conditions
-- and rules are one validated JSON document (definition); the columns beside it are what
-- queries need.
CREATE TABLE flows (
    id                   INTEGER PRIMARY KEY,
    workspace_id         INTEGER NOT NULL,
    name                 TEXT NOT NULL,
    source_connection_id INTEGER NOT NULL,
    source_entity        TEXT NOT NULL,
    target_connection_id INTEGER NOT NULL,
    target_entity        TEXT NOT NULL,
    trigger_kind         TEXT NOT NULL,
    schedule             TEXT NOT NULL DEFAULT '',
    next_run_at          TIMESTAMP,
    definition           TEXT NOT NULL,
    last_run_job_id      INTEGER,
    run_job_id           INTEGER,
    last_run_at          TIMESTAMP,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, name)
);
CREATE INDEX flows_source ON flows (source_connection_id);
CREATE INDEX flows_target ON flows (target_connection_id);

-- The link table: which target record a source record became, and what was last done,
-- so that nothing is created or written back twice. state: pending (a write was sent and
-- may have landed), linked, skipped (the condition left it out at source_hash), removed.
CREATE TABLE flow_links (
    flow_id           INTEGER NOT NULL,
    source_key        TEXT NOT NULL,
    target_key        TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL,
    source_hash       TEXT NOT NULL DEFAULT '',
    target_hash       TEXT NOT NULL DEFAULT '',
    written           TEXT NOT NULL DEFAULT '{}',
    reason            TEXT NOT NULL DEFAULT '',
    action_state      TEXT NOT NULL DEFAULT '',
    writeback_value   TEXT NOT NULL DEFAULT '',
    writeback_pending TEXT NOT NULL DEFAULT '',
    job_id            INTEGER,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (flow_id, source_key)
);
CREATE INDEX flow_links_target ON flow_links (flow_id, target_key);

-- Records a flow could not write, with why; kept until a later run writes them.
CREATE TABLE flow_failures (
    flow_id         INTEGER NOT NULL,
    source_key      TEXT NOT NULL,
    source_hash     TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 1,
    job_id          INTEGER,
    first_failed_at TIMESTAMP NOT NULL,
    last_failed_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (flow_id, source_key)
);

-- Flow runs are jobs: which flow, and the counters a sync does not have.
ALTER TABLE jobs ADD COLUMN flow_id INTEGER;
ALTER TABLE jobs ADD COLUMN skipped_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN failed_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_flow ON jobs (flow_id) WHERE flow_id IS NOT NULL;

-- +goose Down
DROP INDEX jobs_flow;
ALTER TABLE jobs DROP COLUMN failed_count;
ALTER TABLE jobs DROP COLUMN skipped_count;
ALTER TABLE jobs DROP COLUMN flow_id;
DROP TABLE flow_failures;
DROP TABLE flow_links;
DROP TABLE flows;
