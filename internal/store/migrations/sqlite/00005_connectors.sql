-- +goose Up
-- Remote connectors registered by URL: each appears as a driver in its workspace. The spec
-- is the connector's last fetched spec document; the Authorization header value is sealed.
CREATE TABLE connectors (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    url          TEXT NOT NULL,
    auth_sealed  TEXT NOT NULL DEFAULT '',
    spec         TEXT NOT NULL,
    fetched_at   TIMESTAMP NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, name)
);

-- +goose Down
DROP TABLE connectors;
