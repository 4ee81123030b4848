-- +goose Up
CREATE TABLE catalog_changes (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL,
    connection_id INTEGER NOT NULL,
    job_id        INTEGER,
    at            TIMESTAMP NOT NULL,
    kind          TEXT NOT NULL,
    entity        TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX catalog_changes_connection ON catalog_changes (connection_id, id);

-- What the last finished sync of an entity was keyed and ordered by: a later sync whose
-- catalog says otherwise stops instead of guessing.
ALTER TABLE sync_states ADD COLUMN key_attrs TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_states ADD COLUMN cursor_attr TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sync_states DROP COLUMN cursor_attr;
ALTER TABLE sync_states DROP COLUMN key_attrs;
DROP TABLE catalog_changes;
