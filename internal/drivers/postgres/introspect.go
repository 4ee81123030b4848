package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/sqltable"
)

// Introspect reads the schema's tables, columns, keys, foreign keys and enum types from
// the system catalogs.
func (dialect) Introspect(ctx context.Context, db *sql.DB, cfg driver.Config, names []string) ([]sqltable.Table, []driver.ValueList, error) {
	s := schema(cfg)
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s).Scan(&exists); err != nil {
		return nil, nil, fmt.Errorf("introspect: %w", err)
	}
	if !exists {
		return nil, nil, driver.SettingError("schema", "schema "+s+" does not exist")
	}
	// An empty names list means every table; PostgreSQL gets it as NULL.
	var filter any
	if len(names) > 0 {
		filter = names
	}
	rows, err := db.QueryContext(ctx, `
		SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
		       COALESCE(bt.typname, t.typname), t.typtype, a.attnotnull
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		  AND ($2::text[] IS NULL OR c.relname = ANY($2::text[]))
		ORDER BY c.relname, a.attnum`, s, filter)
	if err != nil {
		return nil, nil, fmt.Errorf("introspect columns: %w", err)
	}
	defer rows.Close()
	var tables []sqltable.Table
	enums := map[string]bool{}
	for rows.Next() {
		var table, typname, typtype string
		var col sqltable.Column
		if err := rows.Scan(&table, &col.Name, &col.NativeType, &typname, &typtype, &col.NotNull); err != nil {
			return nil, nil, fmt.Errorf("introspect columns: %w", err)
		}
		col.Type = attrType(typname)
		if typtype == "e" {
			col.ValueList = typname
			enums[typname] = true
		}
		if len(tables) == 0 || tables[len(tables)-1].Name != table {
			tables = append(tables, sqltable.Table{Name: table})
		}
		t := &tables[len(tables)-1]
		t.Columns = append(t.Columns, col)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("introspect columns: %w", err)
	}
	rows.Close()
	if err := primaryKeys(ctx, db, s, tables); err != nil {
		return nil, nil, err
	}
	if err := foreignKeys(ctx, db, s, tables); err != nil {
		return nil, nil, err
	}
	lists, err := enumLists(ctx, db, enums)
	if err != nil {
		return nil, nil, err
	}
	return tables, lists, nil
}

func primaryKeys(ctx context.Context, db *sql.DB, schema string, tables []sqltable.Table) error {
	rows, err := db.QueryContext(ctx, `
		SELECT c.relname, a.attname
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos)
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
		WHERE i.indisprimary AND n.nspname = $1
		ORDER BY c.relname, k.pos`, schema)
	if err != nil {
		return fmt.Errorf("introspect primary keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			return fmt.Errorf("introspect primary keys: %w", err)
		}
		if t := find(tables, table); t != nil {
			t.Key = append(t.Key, col)
		}
	}
	return rows.Err()
}

// foreignKeys records the referenced table of every single-column foreign key.
func foreignKeys(ctx context.Context, db *sql.DB, schema string, tables []sqltable.Table) error {
	rows, err := db.QueryContext(ctx, `
		SELECT c.relname, a.attname, rc.relname
		FROM pg_constraint co
		JOIN pg_class c ON c.oid = co.conrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_class rc ON rc.oid = co.confrelid
		JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1]
		WHERE co.contype = 'f' AND n.nspname = $1 AND cardinality(co.conkey) = 1`, schema)
	if err != nil {
		return fmt.Errorf("introspect foreign keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, col, ref string
		if err := rows.Scan(&table, &col, &ref); err != nil {
			return fmt.Errorf("introspect foreign keys: %w", err)
		}
		if t := find(tables, table); t != nil {
			for i := range t.Columns {
				if t.Columns[i].Name == col {
					t.Columns[i].Reference = ref
				}
			}
		}
	}
	return rows.Err()
}

// enumLists turns the enum types the columns use into value lists.
func enumLists(ctx context.Context, db *sql.DB, enums map[string]bool) ([]driver.ValueList, error) {
	if len(enums) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(enums))
	for n := range enums {
		names = append(names, n)
	}
	rows, err := db.QueryContext(ctx, `
		SELECT t.typname, e.enumlabel
		FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
		WHERE t.typname = ANY($1::text[])
		ORDER BY t.typname, e.enumsortorder`, names)
	if err != nil {
		return nil, fmt.Errorf("introspect enums: %w", err)
	}
	defer rows.Close()
	var lists []driver.ValueList
	for rows.Next() {
		var typ, label string
		if err := rows.Scan(&typ, &label); err != nil {
			return nil, fmt.Errorf("introspect enums: %w", err)
		}
		if len(lists) == 0 || lists[len(lists)-1].Name != typ {
			lists = append(lists, driver.ValueList{Name: typ})
		}
		l := &lists[len(lists)-1]
		l.Values = append(l.Values, driver.Value{ID: label, Name: label})
	}
	return lists, rows.Err()
}

func find(tables []sqltable.Table, name string) *sqltable.Table {
	for i := range tables {
		if tables[i].Name == name {
			return &tables[i]
		}
	}
	return nil
}

// attrType maps a PostgreSQL type name to a catalog attribute type.
func attrType(typname string) string {
	switch typname {
	case "int2", "int4", "int8", "oid":
		return driver.AttrInteger
	case "float4", "float8":
		return driver.AttrNumber
	case "numeric":
		return driver.AttrDecimal
	case "bool":
		return driver.AttrBoolean
	case "timestamp", "timestamptz":
		return driver.AttrDateTime
	case "date":
		return driver.AttrDate
	case "json", "jsonb":
		return driver.AttrJSON
	case "bytea":
		return driver.AttrBinary
	}
	return driver.AttrString
}
