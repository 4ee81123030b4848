package sqltable

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/junction-hub/junction/internal/driver"
)

// Write applies records to one table in a single transaction. Each record runs inside
// its own savepoint, so a record the database refuses is rolled back alone and the
// others still commit; its result carries the reason.
func (d *Driver) Write(ctx context.Context, cfg driver.Config, entity string, records []driver.WriteRecord) ([]driver.WriteResult, error) {
	db, err := d.dialect.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", entity, d.connectError(cfg, err))
	}
	defer db.Close()
	t, err := d.table(ctx, db, cfg, entity)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", entity, err)
	}
	if len(t.Key) == 0 {
		return nil, fmt.Errorf("write %s: table has no primary key: %w", entity, driver.ErrConfig)
	}
	w := &writer{d: d, table: t, from: d.dialect.Table(cfg, t.Name)}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("write %s: begin: %w", entity, err)
	}
	defer tx.Rollback()
	results := make([]driver.WriteResult, len(records))
	for i, rec := range records {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("write %s: %w", entity, err)
		}
		results[i] = driver.WriteResult{Key: rec.Key, OK: true}
		if err := w.apply(ctx, tx, rec, &results[i]); err != nil {
			results[i].OK, results[i].Error = false, err.Error()
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("write %s: commit: %w", entity, err)
	}
	return results, nil
}

// writer builds and runs the statements for one table.
type writer struct {
	d     *Driver
	table Table
	from  string
}

// apply writes one record inside a savepoint. A failure of the record itself is
// returned; a failure of the savepoint machinery is too, which then also fails the commit.
func (w *writer) apply(ctx context.Context, tx *sql.Tx, rec driver.WriteRecord, res *driver.WriteResult) error {
	query, args, key, err := w.statement(rec)
	if err != nil {
		return err
	}
	if res.Key == "" {
		res.Key = key
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT junction_record"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	result, err := tx.ExecContext(ctx, query, args...)
	if err == nil && rec.Op == driver.OpUpdate {
		if n, rerr := result.RowsAffected(); rerr == nil && n == 0 {
			err = fmt.Errorf("no record with key %s", key)
		}
	}
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT junction_record"); rerr != nil {
			return fmt.Errorf("%v (and rollback to savepoint: %v)", err, rerr)
		}
	}
	if _, rerr := tx.ExecContext(ctx, "RELEASE SAVEPOINT junction_record"); rerr != nil && err == nil {
		err = fmt.Errorf("release savepoint: %w", rerr)
	}
	return err
}

// statement turns a record into SQL and arguments, and returns the record's key
// (from the record, or from its key fields when it has none).
func (w *writer) statement(rec driver.WriteRecord) (string, []any, string, error) {
	q := w.d.dialect.Quote
	names := make([]string, 0, len(rec.Fields))
	for name := range rec.Fields {
		names = append(names, name)
	}
	sort.Strings(names) // the same fields give the same SQL, which statement caches reuse
	values := map[string]any{}
	for _, name := range names {
		col, ok := w.table.Column(name)
		if !ok {
			return "", nil, "", fmt.Errorf("unknown field %s: table %s has no such column", name, w.table.Name)
		}
		v, err := argValue(col.Type, rec.Fields[name])
		if err != nil {
			return "", nil, "", fmt.Errorf("field %s %v", name, err)
		}
		values[name] = v
	}
	keyCols := make([]Column, len(w.table.Key))
	for i, k := range w.table.Key {
		keyCols[i], _ = w.table.Column(k)
	}
	key, keyArgs, err := w.key(rec, keyCols)
	if err != nil {
		return "", nil, "", err
	}
	if keyArgs == nil && rec.Op != driver.OpCreate {
		return "", nil, "", fmt.Errorf("%s needs a key: give the record a key or set the fields %s", rec.Op, strings.Join(w.table.Key, ", "))
	}
	for i, k := range w.table.Key {
		if keyArgs != nil {
			values[k] = keyArgs[i] // the record's key wins over key fields
		}
	}
	var nonKey []string
	for _, name := range names {
		if !contains(w.table.Key, name) {
			nonKey = append(nonKey, name)
		}
	}

	var args []any
	param := func(v any) string {
		args = append(args, v)
		return w.d.dialect.Param(len(args))
	}
	where := func() string {
		parts := make([]string, len(w.table.Key))
		for i, k := range w.table.Key {
			parts[i] = q(k) + " = " + param(keyArgs[i])
		}
		return strings.Join(parts, " AND ")
	}

	switch rec.Op {
	case driver.OpCreate, driver.OpUpsert:
		var cols []string
		if keyArgs != nil {
			cols = append(cols, w.table.Key...)
		}
		cols = append(cols, nonKey...)
		if len(cols) == 0 {
			return "", nil, "", fmt.Errorf("%s has no fields", rec.Op)
		}
		quoted, params := make([]string, len(cols)), make([]string, len(cols))
		for i, c := range cols {
			quoted[i], params[i] = q(c), param(values[c])
		}
		sqlText := "INSERT INTO " + w.from + " (" + strings.Join(quoted, ", ") + ") VALUES (" + strings.Join(params, ", ") + ")"
		if rec.Op == driver.OpUpsert {
			sqlText += " " + w.d.dialect.Upsert(w.table.Key, nonKey)
		}
		return sqlText, args, key, nil
	case driver.OpUpdate:
		var sets []string
		for _, c := range nonKey {
			sets = append(sets, q(c)+" = "+param(values[c]))
		}
		if len(sets) == 0 { // nothing to change: still report whether the record exists
			sets = append(sets, q(w.table.Key[0])+" = "+q(w.table.Key[0]))
		}
		return "UPDATE " + w.from + " SET " + strings.Join(sets, ", ") + " WHERE " + where(), args, key, nil
	case driver.OpDelete:
		// Deleting a record that is already gone succeeds: the outcome is the same.
		return "DELETE FROM " + w.from + " WHERE " + where(), args, key, nil
	}
	return "", nil, "", fmt.Errorf("unknown write op %q", rec.Op)
}

// key returns the record's key and its values as arguments: from rec.Key when set,
// otherwise from the key fields when all are set, otherwise none ("" and nil).
func (w *writer) key(rec driver.WriteRecord, keyCols []Column) (string, []any, error) {
	if rec.Key != "" {
		args, err := parseKey(rec.Key, keyCols)
		return rec.Key, args, err
	}
	raw := make([]any, len(keyCols))
	args := make([]any, len(keyCols))
	for i, c := range keyCols {
		v, ok := rec.Fields[c.Name]
		if !ok || v == nil {
			return "", nil, nil
		}
		a, err := argValue(c.Type, v)
		if err != nil {
			return "", nil, fmt.Errorf("key field %s %v", c.Name, err)
		}
		raw[i], args[i] = v, a
	}
	return keyString(raw), args, nil
}

// OnConflict is the upsert clause of PostgreSQL and SQLite, which share the syntax:
// update the given columns when the key exists (or do nothing when there are none).
func OnConflict(quote func(string) string, key, update []string) string {
	quoted := make([]string, len(key))
	for i, k := range key {
		quoted[i] = quote(k)
	}
	if len(update) == 0 {
		return "ON CONFLICT (" + strings.Join(quoted, ", ") + ") DO NOTHING"
	}
	sets := make([]string, len(update))
	for i, c := range update {
		sets[i] = quote(c) + " = excluded." + quote(c)
	}
	return "ON CONFLICT (" + strings.Join(quoted, ", ") + ") DO UPDATE SET " + strings.Join(sets, ", ")
}
