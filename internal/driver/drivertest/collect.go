package drivertest

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/junction-hub/junction/internal/driver"
)

// Read is everything one Read emitted, in order.
type Read struct {
	Records     []driver.Record
	Deletes     []string
	Checkpoints []string
	// RecordsAt[i] is how many records had arrived when Checkpoints[i] was emitted.
	RecordsAt []int
}

// ReadAll runs one Read and collects what it emits. Driver tests use it too.
func ReadAll(ctx context.Context, d driver.Driver, cfg driver.Config, req driver.ReadRequest) (Read, error) {
	c := &collector{}
	err := d.Read(ctx, cfg, req, c)
	if c.read.Records == nil {
		c.read.Records = []driver.Record{}
	}
	return c.read, err
}

// ByKey returns the records' fields by key.
func (r Read) ByKey() map[string]map[string]any {
	out := make(map[string]map[string]any, len(r.Records))
	for _, rec := range r.Records {
		out[rec.Key] = rec.Fields
	}
	return out
}

// Keys returns the records' keys in the order they came.
func (r Read) Keys() []string {
	out := make([]string, len(r.Records))
	for i, rec := range r.Records {
		out[i] = rec.Key
	}
	return out
}

// LastCheckpoint returns the last checkpoint cursor ("" when there was none).
func (r Read) LastCheckpoint() string {
	if len(r.Checkpoints) == 0 {
		return ""
	}
	return r.Checkpoints[len(r.Checkpoints)-1]
}

// wellFormed checks what every read must satisfy: keys present and unique, fields that
// encode as JSON, and a checkpoint after the records.
func (r Read) wellFormed() error {
	seen := map[string]bool{}
	for _, rec := range r.Records {
		if rec.Key == "" {
			return fmt.Errorf("a record has an empty key")
		}
		if seen[rec.Key] {
			return fmt.Errorf("record %s came twice", rec.Key)
		}
		seen[rec.Key] = true
		if _, err := json.Marshal(rec.Fields); err != nil {
			return fmt.Errorf("record %s: fields are not JSON: %v", rec.Key, err)
		}
	}
	if len(r.Records) > 0 && (len(r.RecordsAt) == 0 || r.RecordsAt[len(r.RecordsAt)-1] != len(r.Records)) {
		return fmt.Errorf("no checkpoint after the last record")
	}
	return nil
}

type collector struct{ read Read }

func (c *collector) Record(ctx context.Context, r driver.Record) error {
	c.read.Records = append(c.read.Records, r)
	return ctx.Err()
}

func (c *collector) Delete(ctx context.Context, key string) error {
	c.read.Deletes = append(c.read.Deletes, key)
	return ctx.Err()
}

func (c *collector) Checkpoint(ctx context.Context, cursor string) error {
	c.read.Checkpoints = append(c.read.Checkpoints, cursor)
	c.read.RecordsAt = append(c.read.RecordsAt, len(c.read.Records))
	return ctx.Err()
}

func (c *collector) Log(context.Context, string) {}
