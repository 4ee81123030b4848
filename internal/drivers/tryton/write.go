package tryton

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/tryton/rpc"
)

// ButtonsField is the reserved field of a WriteRecord that asks for workflow buttons:
// a list of button names (or one comma-separated text), clicked in order on the record
// after its other fields are written, e.g. {"_buttons": ["quote", "confirm"]} on a
// sale.sale. A record may carry only _buttons to change the state of an existing record.
const ButtonsField = "_buttons"

// setByTryton are fields Tryton maintains itself; a write that sets them is refused.
var setByTryton = map[string]bool{"id": true, "create_date": true, "write_date": true, "create_uid": true, "write_uid": true}

// Write creates, updates, upserts or deletes records one by one, each in its own Tryton
// transaction, and reports each record's result: a bad record gets its own error and the
// others go on. A created record's result carries its new id as key. Tryton commits every
// call on its own, so a record whose fields were written but whose button failed keeps
// the fields and the state of the last button that worked; its error names the button.
func (d *Driver) Write(ctx context.Context, cfg driver.Config, entity string, records []driver.WriteRecord) ([]driver.WriteResult, error) {
	c, err := d.session(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", entity, err)
	}
	defer c.Logout(context.WithoutCancel(ctx))
	fields, err := d.entityFields(ctx, c, cfg, entity)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", entity, err)
	}
	match, err := matchFields(cfg)
	if err != nil {
		return nil, fmt.Errorf("write %s: match_fields: %v: %w", entity, err, driver.ErrConfig)
	}
	byName := make(map[string]field, len(fields))
	for _, f := range fields {
		byName[f.Name] = f
	}
	// A deactivated record still exists: an upsert updates it rather than making another.
	c.Context["active_test"] = false
	w := &writer{c: c, model: entity, fields: map[string]map[string]field{entity: byName}, match: match,
		resolved: map[string]int64{}, defaults: map[string]map[string]any{}}
	results := make([]driver.WriteResult, len(records))
	for i, rec := range records {
		key, err := w.one(ctx, rec)
		results[i] = driver.WriteResult{Key: key, OK: err == nil}
		if err == nil {
			continue
		}
		if rpc.IsError(err) || isRecordError(err) {
			results[i].Error = err.Error()
			continue
		}
		// The server cannot be reached or refused us: what was written so far is
		// reported; this record and the rest are not written.
		msg := callError(cfg, err).Error()
		for j := i; j < len(records); j++ {
			results[j] = driver.WriteResult{Key: records[j].Key, Error: msg}
		}
		results[i].Key = key
		break
	}
	return results, nil
}

// recordError is a problem with one record's content, found before Tryton is asked.
type recordError struct{ msg string }

func (e *recordError) Error() string { return e.msg }

func isRecordError(err error) bool {
	var re *recordError
	return errors.As(err, &re)
}

type writer struct {
	c        *rpc.Client
	model    string
	fields   map[string]map[string]field // by model: the written one and those of its lines
	match    map[string]string           // match_fields: model → field
	resolved map[string]int64            // model and match value → id, found in this write
	defaults map[string]map[string]any   // by model
}

// one applies one record and returns its key (the new id when it was created).
func (w *writer) one(ctx context.Context, rec driver.WriteRecord) (string, error) {
	conv, err := w.convert(ctx, w.model, rec.Fields)
	if err != nil {
		return rec.Key, err
	}
	buttons := conv.buttons
	id, exists := int64(0), false
	if rec.Key != "" {
		id, err = strconv.ParseInt(rec.Key, 10, 64)
		if err != nil || id <= 0 {
			if rec.Op != driver.OpCreate {
				return rec.Key, &recordError{"key must be a Tryton id (a positive whole number)"}
			}
		} else if rec.Op != driver.OpCreate {
			var n int64
			if err := w.c.Call(ctx, "model."+w.model+".search_count", &n, []any{[]any{"id", "=", id}}); err != nil {
				return rec.Key, err
			}
			exists = n > 0
		}
	}
	switch rec.Op {
	case driver.OpDelete:
		if exists {
			if err := w.c.Call(ctx, "model."+w.model+".delete", nil, []int64{id}); err != nil {
				return rec.Key, err
			}
		}
		return rec.Key, nil
	case driver.OpUpdate:
		if !exists {
			return rec.Key, &recordError{fmt.Sprintf("%s %s does not exist", w.model, rec.Key)}
		}
	case driver.OpCreate, driver.OpUpsert:
	default:
		return rec.Key, &recordError{fmt.Sprintf("unknown op %q", rec.Op)}
	}
	key := rec.Key
	if exists {
		if err := w.linesCommands(ctx, w.model, id, &conv); err != nil {
			return key, err
		}
		if values := conv.values; len(values) > 0 {
			if err := w.c.Call(ctx, "model."+w.model+".write", nil, []int64{id}, values); err != nil {
				return key, err
			}
		}
	} else {
		if err := w.complete(ctx, w.model, &conv, nil, ""); err != nil {
			return key, err
		}
		var ids []int64
		if err := w.c.Call(ctx, "model."+w.model+".create", &ids, []any{conv.createValues()}); err != nil {
			return key, err
		}
		if len(ids) != 1 {
			return key, fmt.Errorf("create %s returned %d ids", w.model, len(ids))
		}
		id, key = ids[0], strconv.FormatInt(ids[0], 10)
	}
	for _, b := range buttons {
		if err := w.c.Call(ctx, "model."+w.model+"."+b, nil, []int64{id}); err != nil {
			if errors.Is(err, rpc.ErrForbidden) {
				return key, &recordError{fmt.Sprintf("%s has no button %s", w.model, b)}
			}
			var te *rpc.Error
			if errors.As(err, &te) {
				return key, &recordError{fmt.Sprintf("button %s: %s", b, te.Error())}
			}
			return key, err
		}
	}
	return key, nil
}

// buttonList reads _buttons: a list of names or one comma-separated text.
func buttonList(v any) ([]string, bool) {
	var out []string
	switch x := v.(type) {
	case string:
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return nil, false
			}
			out = append(out, strings.TrimSpace(s))
		}
	case []string:
		out = x
	default:
		return nil, false
	}
	for _, b := range out {
		if strings.ContainsAny(b, ". /") {
			return nil, false
		}
	}
	return out, true
}
