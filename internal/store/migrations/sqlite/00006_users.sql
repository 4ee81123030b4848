-- +goose Up
-- Users are global; they belong to workspaces through memberships with a role. Groups
-- belong to one workspace. Tokens now belong to a user (NULL: a token made before users
-- existed; the server attaches those to the user "admin" at startup).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    server_admin  BOOLEAN NOT NULL DEFAULT FALSE,
    kind          TEXT NOT NULL DEFAULT 'person',
    created_at    TIMESTAMP NOT NULL,
    disabled_at   TIMESTAMP
);

CREATE TABLE memberships (
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    user_id      INTEGER NOT NULL REFERENCES users(id),
    role         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE user_groups (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES user_groups(id),
    user_id  INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (group_id, user_id)
);

ALTER TABLE api_tokens ADD COLUMN user_id INTEGER REFERENCES users(id);
ALTER TABLE api_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'personal';
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- +goose Down
DROP INDEX api_tokens_user;
ALTER TABLE api_tokens DROP COLUMN kind;
ALTER TABLE api_tokens DROP COLUMN user_id;
DROP TABLE group_members;
DROP TABLE user_groups;
DROP TABLE memberships;
DROP TABLE users;
