package tryton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/tryton/rpc"
)

// Read streams a model's records with search_read in keyset pages, as sqltable reads a
// table with a nullable cursor column: Tryton leaves write_date NULL until a record is
// first changed, so the read has two phases. First the never-written records, ordered by
// (create_date, id); then the written ones, ordered by (write_date, id). Each page asks
// for the records strictly after the last one of the previous page, so records sharing a
// timestamp (all records of one Tryton transaction do) are neither lost nor repeated at
// page borders, and memory stays bounded by the page.
//
// The cursor holds the last position of both phases, and every read, resumed or
// incremental, runs both from there: a record created later is found by the first, a
// record changed later (its write_date moves past the cursor) by the second. Full and
// incremental reads differ only in the cursor they start from.
func (d *Driver) Read(ctx context.Context, cfg driver.Config, req driver.ReadRequest, out driver.Emitter) error {
	cur, err := decodeCursor(req.Cursor)
	if err != nil {
		return fmt.Errorf("read %s: %w", req.Entity, err)
	}
	c, err := d.session(ctx, cfg)
	if err != nil {
		return fmt.Errorf("read %s: %w", req.Entity, err)
	}
	defer c.Logout(context.WithoutCancel(ctx))
	fields, err := d.entityFields(ctx, c, cfg, req.Entity)
	if err != nil {
		return fmt.Errorf("read %s: %w", req.Entity, err)
	}
	// Deactivated records (a product no longer sold) are records too: read them, so that
	// only deleted ones go missing from a full read.
	c.Context["active_test"] = false
	r := &reader{c: c, model: req.Entity, cursor: cur, limit: req.PageSize}
	if r.limit <= 0 {
		r.limit = DefaultPageSize
	}
	r.types = map[string]string{}
	for _, f := range fields {
		if f.mirrored() {
			r.names = append(r.names, f.Name)
			r.types[f.Name] = f.Type
		}
	}
	for _, ph := range []phase{phaseCreated, phaseWritten} {
		if err := r.run(ctx, ph, out); err != nil {
			var ee *emitError
			if errors.As(err, &ee) {
				return fmt.Errorf("read %s: %w", req.Entity, ee.err) // the caller's own error, as it gave it
			}
			return fmt.Errorf("read %s: %w", req.Entity, callError(cfg, err))
		}
	}
	return nil
}

// entityFields checks that the entity is a configured, existing model and returns its
// fields.
func (d *Driver) entityFields(ctx context.Context, c *rpc.Client, cfg driver.Config, entity string) ([]field, error) {
	if !slices.Contains(models(cfg), entity) {
		return nil, fmt.Errorf("%s is not one of the configured models: %w", entity, driver.ErrUnknownEntity)
	}
	ms, err := loadModels(ctx, c, []string{entity})
	if err != nil {
		if _, ok := err.(*missingModelError); ok {
			return nil, fmt.Errorf("%w: %s", driver.ErrUnknownEntity, err.Error())
		}
		return nil, callError(cfg, err)
	}
	fields, err := loadFields(ctx, c, ms[0])
	if err != nil {
		return nil, callError(cfg, err)
	}
	return fields, nil
}

// phase is one of the two orderings a read goes through.
type phase int

const (
	phaseCreated phase = iota // write_date IS NULL, by (create_date, id)
	phaseWritten              // write_date IS NOT NULL, by (write_date, id)
)

func (p phase) column() string {
	if p == phaseCreated {
		return "create_date"
	}
	return "write_date"
}

// position is the last record a phase has read.
type position struct {
	At time.Time `json:"at"`
	ID int64     `json:"id"`
}

// cursor is what a checkpoint saves: the position of each phase.
type cursor struct {
	Created *position `json:"created,omitempty"`
	Written *position `json:"written,omitempty"`
}

func (c *cursor) of(p phase) **position {
	if p == phaseCreated {
		return &c.Created
	}
	return &c.Written
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("cursor %q is not a tryton cursor: %w", s, driver.ErrConfig)
	}
	return c, nil
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return string(b)
}

type reader struct {
	c      *rpc.Client
	model  string
	names  []string          // fields read
	types  map[string]string // their Tryton types
	limit  int
	cursor cursor
}

// run reads one phase page by page until a page comes back short.
func (r *reader) run(ctx context.Context, ph phase, out driver.Emitter) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.page(ctx, ph, out)
		if err != nil {
			return err
		}
		if n < r.limit {
			return nil
		}
	}
}

// page reads, emits and checkpoints one page, and returns how many records it held.
func (r *reader) page(ctx context.Context, ph phase, out driver.Emitter) (int, error) {
	col := ph.column()
	nullOp := "="
	if ph == phaseWritten {
		nullOp = "!="
	}
	domain := []any{[]any{"write_date", nullOp, nil}}
	if pos := *r.cursor.of(ph); pos != nil {
		at := rpc.DateTime(pos.At)
		domain = append(domain, []any{"OR",
			[]any{[]any{col, ">", at}},
			[]any{[]any{col, "=", at}, []any{"id", ">", pos.ID}}})
	}
	order := [][]string{{col, "ASC"}, {"id", "ASC"}}
	var rows []map[string]any
	if err := r.c.Call(ctx, "model."+r.model+".search_read", &rows, domain, 0, r.limit, order, r.names); err != nil {
		return 0, err
	}
	var last *position
	for _, row := range rows {
		id, ok := rpc.Int(row["id"])
		if !ok {
			return 0, fmt.Errorf("a %s record has no id", r.model)
		}
		rec := driver.Record{Key: strconv.FormatInt(id, 10), Fields: make(map[string]any, len(row))}
		for k, v := range row {
			rec.Fields[k] = value(r.types[k], v)
		}
		at, ok := rpc.AsDateTime(row[col])
		if !ok {
			return 0, fmt.Errorf("%s record %d has no %s", r.model, id, col)
		}
		updated := at
		rec.UpdatedAt = &updated
		if err := out.Record(ctx, rec); err != nil {
			return 0, &emitError{err}
		}
		last = &position{At: at, ID: id}
	}
	if last == nil {
		return 0, nil
	}
	*r.cursor.of(ph) = last
	if err := out.Checkpoint(ctx, r.cursor.encode()); err != nil {
		return 0, &emitError{err}
	}
	return len(rows), nil
}

// emitError is an error the emitter returned: it stops the read and goes back to the
// caller unchanged, not classified as Tryton's.
type emitError struct{ err error }

func (e *emitError) Error() string { return e.err.Error() }
func (e *emitError) Unwrap() error { return e.err }

// value turns a value Tryton sent for a field of type ttype into plain JSON. Tryton on
// SQLite hands booleans back as 0 and 1 and whole floats as integers; they become
// true, false and floats.
func value(ttype string, v any) any {
	v = rpc.Plain(v)
	n, isInt := v.(int64)
	switch {
	case ttype == "boolean" && isInt:
		return n != 0
	case ttype == "float" && isInt:
		return float64(n)
	}
	return v
}
