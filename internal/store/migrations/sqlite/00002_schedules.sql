-- +goose Up
-- A connection's sync schedule ('' = manual only) and when it next runs (NULL = never on
-- its own). The scheduler claims a run by moving next_sync_at forward (compare-and-set).
ALTER TABLE connections ADD COLUMN schedule TEXT NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN next_sync_at TIMESTAMP;
CREATE INDEX connections_next_sync ON connections (next_sync_at) WHERE next_sync_at IS NOT NULL;

-- +goose Down
DROP INDEX connections_next_sync;
ALTER TABLE connections DROP COLUMN next_sync_at;
ALTER TABLE connections DROP COLUMN schedule;
