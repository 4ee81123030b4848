package connector

import (
	"context"
	"fmt"
	"strconv"

	"github.com/junction-hub/junction/internal/driver"
)

// memDriver is a small correct driver over a fixed list of records, which the broken
// connectors below spoil one way each. Its cursor is the index of the last record read.
type memDriver struct {
	spec  driver.Spec
	items []map[string]any
	// spoilers
	checkAlwaysPasses bool
	incrementalIsFull bool
}

func newMem(n int) *memDriver {
	m := &memDriver{spec: driver.Spec{
		Name: "mem", Label: "Memory",
		Credentials:  []driver.Field{{Name: "api_token", Label: "API token", Type: driver.TypeText, Secret: true, Required: true}},
		Settings:     []driver.Field{{Name: "region", Label: "Region", Type: driver.TypeSelect, Options: []string{"eu", "us"}, Default: "eu"}},
		Capabilities: driver.Capabilities{Read: true, Write: true, Lookup: true},
	}}
	for i := 1; i <= n; i++ {
		m.items = append(m.items, map[string]any{"id": int64(i), "name": fmt.Sprintf("item %d", i), "big": int64(1<<62 + i)})
	}
	return m
}

func (m *memDriver) Spec() driver.Spec { return m.spec }

func (m *memDriver) Check(ctx context.Context, cfg driver.Config) error {
	if m.checkAlwaysPasses {
		return nil
	}
	switch cfg.Credentials.String("api_token") {
	case "good":
		return nil
	case "flaky":
		return fmt.Errorf("connect: %w", driver.ErrTransient)
	}
	return driver.CredentialError("api_token", "is not accepted by the system")
}

func (m *memDriver) Discover(ctx context.Context, cfg driver.Config) (*driver.Catalog, error) {
	return &driver.Catalog{Entities: []driver.Entity{{
		Name: "items", Key: []string{"id"}, Cursor: "id",
		Attributes: []driver.Attribute{{Name: "id", Type: driver.AttrInteger, Key: true}, {Name: "name", Type: driver.AttrString}, {Name: "big", Type: driver.AttrInteger}},
	}}}, nil
}

func (m *memDriver) Read(ctx context.Context, cfg driver.Config, req driver.ReadRequest, out driver.Emitter) error {
	if req.Entity != "items" {
		return fmt.Errorf("%w: %s", driver.ErrUnknownEntity, req.Entity)
	}
	start, _ := strconv.Atoi(req.Cursor)
	if m.incrementalIsFull && req.Mode == driver.ReadIncremental {
		start = 0
	}
	out.Log(ctx, "reading items")
	for i := start; i < len(m.items); i++ {
		if err := out.Record(ctx, driver.Record{Key: strconv.Itoa(i + 1), Fields: m.items[i]}); err != nil {
			return err
		}
		if (i+1)%max(req.PageSize, 1) == 0 || i == len(m.items)-1 {
			if err := out.Checkpoint(ctx, strconv.Itoa(i+1)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memDriver) Write(ctx context.Context, cfg driver.Config, entity string, records []driver.WriteRecord) ([]driver.WriteResult, error) {
	var res []driver.WriteResult
	for _, r := range records {
		id, err := strconv.Atoi(r.Key)
		if err != nil || id < 1 {
			res = append(res, driver.WriteResult{Key: r.Key, Error: "key must be a positive number"})
			continue
		}
		for len(m.items) < id {
			m.items = append(m.items, map[string]any{"id": int64(len(m.items) + 1)})
		}
		for k, v := range r.Fields {
			m.items[id-1][k] = v
		}
		res = append(res, driver.WriteResult{Key: r.Key, OK: true})
	}
	return res, nil
}

func (m *memDriver) Lookup(ctx context.Context, cfg driver.Config, entity string, keys, fields []string) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for _, k := range keys {
		id, _ := strconv.Atoi(k)
		if id < 1 || id > len(m.items) {
			continue
		}
		out[k] = map[string]any{}
		for _, f := range fields {
			out[k][f] = m.items[id-1][f]
		}
	}
	return out, nil
}
