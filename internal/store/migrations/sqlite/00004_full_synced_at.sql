-- +goose Up
-- When an entity last had a full sync: automatic syncs read incrementally in between, but
-- only a full read finds records deleted upstream, so they do one now and then.
ALTER TABLE sync_states ADD COLUMN full_synced_at TIMESTAMP;

-- +goose Down
ALTER TABLE sync_states DROP COLUMN full_synced_at;
