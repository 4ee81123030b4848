-- +goose Up
-- Connection scope: 'everyone' in the workspace, or 'restricted' to the users and groups
-- listed in connection_scope (admins and owners see every connection).
ALTER TABLE connections ADD COLUMN scope TEXT NOT NULL DEFAULT 'everyone';

CREATE TABLE connection_scope (
    connection_id INTEGER NOT NULL REFERENCES connections(id),
    user_id       INTEGER REFERENCES users(id),
    group_id      INTEGER REFERENCES user_groups(id),
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX connection_scope_user ON connection_scope (connection_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX connection_scope_group ON connection_scope (connection_id, group_id) WHERE group_id IS NOT NULL;
CREATE INDEX connection_scope_group_id ON connection_scope (group_id);

-- An integration token's grants, as JSON: which connections' entities (and optionally
-- which records) it may read or write, and which flows it may read or run.
ALTER TABLE api_tokens ADD COLUMN grants TEXT NOT NULL DEFAULT '';

-- Who did what, when: written in the same transaction as the change it records.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    at           TIMESTAMP NOT NULL,
    user_id      INTEGER,
    user_name    TEXT NOT NULL DEFAULT '',
    token_id     INTEGER,
    action       TEXT NOT NULL,
    object_kind  TEXT NOT NULL,
    object_id    INTEGER,
    object_name  TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id);

-- +goose Down
DROP TABLE audit_log;
ALTER TABLE api_tokens DROP COLUMN grants;
DROP TABLE connection_scope;
ALTER TABLE connections DROP COLUMN scope;
