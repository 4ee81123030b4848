package sqltable

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/junction-hub/junction/internal/driver"
)

// Read streams a table in pages ordered by (cursor column, primary key…), or by the
// primary key alone when the table has no cursor column. Each page is one query that
// continues strictly after the previous page's last row, so rows sharing a cursor value
// are neither lost nor repeated at page borders, and memory stays bounded by the page.
//
// Rows whose cursor column is NULL cannot be ordered against the others, so a nullable
// cursor column is read in two phases: first the NULL rows by key, then the rest.
// The checkpoint cursor holds the last row's ordering values (NULL during the first
// phase), so a Read resumes in the right phase. Full and incremental reads differ only
// in the cursor they start from.
func (d *Driver) Read(ctx context.Context, cfg driver.Config, req driver.ReadRequest, out driver.Emitter) error {
	db, err := d.dialect.Open(cfg)
	if err != nil {
		return fmt.Errorf("read %s: %w", req.Entity, d.connectError(cfg, err))
	}
	defer db.Close()
	r, err := d.newReader(ctx, db, cfg, req)
	if err != nil {
		return fmt.Errorf("read %s: %w", req.Entity, err)
	}
	if err := r.run(ctx, db, out); err != nil {
		return fmt.Errorf("read %s: %w", req.Entity, err)
	}
	return nil
}

// reader holds what one Read needs: the statement parts and the position it has reached.
type reader struct {
	d        *Driver
	table    Table
	from     string   // quoted table name
	selected string   // select list
	types    []string // Attr type per column
	names    []string
	order    []int  // column indexes of the ordering (cursor column first, if any)
	cursor   int    // column index of the cursor column, or -1
	nullable bool   // the cursor column may be NULL: read the NULL rows first
	limit    int    // rows per page
	after    []any  // last ordering values read; nil at the start
	inNulls  bool   // in the phase that reads rows whose cursor column is NULL
	orderSQL string // cached ORDER BY of the current phase
}

func (d *Driver) newReader(ctx context.Context, db *sql.DB, cfg driver.Config, req driver.ReadRequest) (*reader, error) {
	t, err := d.table(ctx, db, cfg, req.Entity)
	if err != nil {
		return nil, err
	}
	if len(t.Key) == 0 {
		return nil, fmt.Errorf("table %s has no primary key, so it cannot be read in pages: %w", t.Name, driver.ErrConfig)
	}
	cursorName, err := cursorColumn(t, cfg)
	if err != nil {
		return nil, err
	}
	r := &reader{d: d, table: t, from: d.dialect.Table(cfg, t.Name), cursor: -1, limit: req.PageSize}
	if r.limit <= 0 {
		r.limit = DefaultPageSize
	}
	index := map[string]int{}
	sel := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		index[c.Name] = i
		sel[i] = d.dialect.SelectColumn(c.Name)
		r.types = append(r.types, c.Type)
		r.names = append(r.names, c.Name)
	}
	r.selected = strings.Join(sel, ", ")
	var orderNames, orderTypes []string
	if cursorName != "" && !contains(t.Key, cursorName) {
		r.cursor = index[cursorName]
		r.nullable = !t.Columns[r.cursor].NotNull
		r.order = append(r.order, r.cursor)
	}
	for _, k := range t.Key {
		r.order = append(r.order, index[k])
	}
	for _, i := range r.order {
		orderNames = append(orderNames, r.names[i])
		orderTypes = append(orderTypes, r.types[i])
	}
	r.inNulls = r.nullable
	if req.Cursor != "" {
		after, err := decodeCursor(req.Cursor, orderNames, orderTypes)
		if err != nil {
			return nil, err
		}
		r.after = after
		r.inNulls = r.cursor >= 0 && after[0] == nil
	}
	return r, nil
}

// run reads page after page until a page comes back short.
func (r *reader) run(ctx context.Context, db *sql.DB, out driver.Emitter) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.page(ctx, db, out)
		if err != nil {
			return err
		}
		if n < r.limit {
			if !r.inNulls {
				return nil
			}
			// The NULL rows are done; the ordered rows follow from their start.
			r.inNulls, r.after = false, nil
		}
	}
}

// page reads one page, emits its records and then its checkpoint, and returns the
// number of rows it read.
func (r *reader) page(ctx context.Context, db *sql.DB, out driver.Emitter) (int, error) {
	query, args := r.query()
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	values := make([]any, len(r.types))
	dest := make([]any, len(r.types))
	for i := range values {
		dest[i] = &values[i]
	}
	last := make([]any, len(r.order))
	keyValues := make([]any, len(r.table.Key))
	keyStart := len(r.order) - len(r.table.Key)
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, err
		}
		rec := driver.Record{Fields: make(map[string]any, len(values))}
		for i, v := range values {
			rec.Fields[r.names[i]] = recordValue(r.types[i], v)
		}
		for i, col := range r.order {
			last[i] = values[col]
		}
		for i := range keyValues {
			keyValues[i] = rec.Fields[r.names[r.order[keyStart+i]]]
		}
		rec.Key = keyString(keyValues)
		if r.cursor >= 0 && r.types[r.cursor] == driver.AttrDateTime {
			if t, ok := asTime(values[r.cursor]); ok {
				t = t.UTC()
				rec.UpdatedAt = &t
			}
		}
		if err := out.Record(ctx, rec); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	if n == 0 {
		return 0, nil
	}
	names := make([]string, len(r.order))
	types := make([]string, len(r.order))
	for i, col := range r.order {
		names[i], types[i] = r.names[col], r.types[col]
	}
	cur, err := encodeCursor(names, last, types)
	if err != nil {
		return n, fmt.Errorf("encode cursor: %w", err)
	}
	r.after = last // during the NULL phase last[0] is nil, as the cursor needs
	return n, out.Checkpoint(ctx, cur)
}

// query builds the next page's statement: the phase's filter, "after the last row" as
// nested comparisons an index can serve, the ordering and the page size.
func (r *reader) query() (string, []any) {
	order := r.order
	if r.inNulls {
		order = order[1:] // the cursor column is NULL throughout this phase
	}
	var where []string
	var args []any
	if r.nullable {
		op := " IS NOT NULL"
		if r.inNulls {
			op = " IS NULL"
		}
		where = append(where, r.d.dialect.Quote(r.names[r.cursor])+op)
	}
	if r.after != nil {
		after := r.after
		if r.inNulls {
			after = after[1:]
		}
		where = append(where, r.afterCondition(order, after, &args))
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(r.selected)
	b.WriteString(" FROM ")
	b.WriteString(r.from)
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
	}
	b.WriteString(" ORDER BY ")
	for i, col := range order {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(r.d.dialect.Quote(r.names[col]))
	}
	b.WriteString(" LIMIT ")
	b.WriteString(strconv.Itoa(r.limit))
	return b.String(), args
}

// afterCondition writes (c1, c2, …) > (v1, v2, …) as c1 >= v1 AND (c1 > v1 OR (c2, …) > (v2, …)),
// which every database understands and whose leading c1 >= v1 an index on c1 can serve.
func (r *reader) afterCondition(cols []int, values []any, args *[]any) string {
	col := r.d.dialect.Quote(r.names[cols[0]])
	param := func() string {
		*args = append(*args, values[0])
		return r.d.dialect.Param(len(*args))
	}
	if len(cols) == 1 {
		return col + " > " + param()
	}
	ge, gt := param(), param()
	return "(" + col + " >= " + ge + " AND (" + col + " > " + gt + " OR " + r.afterCondition(cols[1:], values[1:], args) + "))"
}
