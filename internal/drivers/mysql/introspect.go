package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/drivers/sqltable"
)

// Introspect reads the database's tables, columns, keys, foreign keys and ENUM columns
// from information_schema.
func (dialect) Introspect(ctx context.Context, db *sql.DB, _ driver.Config, names []string) ([]sqltable.Table, []driver.ValueList, error) {
	wanted := map[string]bool{}
	for _, n := range names {
		wanted[n] = true
	}
	keep := func(table string) bool { return len(wanted) == 0 || wanted[table] }

	rows, err := db.QueryContext(ctx, `
		SELECT c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE
		FROM information_schema.COLUMNS c
		JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
		WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
		ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`)
	if err != nil {
		return nil, nil, fmt.Errorf("introspect columns: %w", err)
	}
	defer rows.Close()
	var tables []sqltable.Table
	var lists []driver.ValueList
	for rows.Next() {
		var table, dataType, nullable string
		var col sqltable.Column
		if err := rows.Scan(&table, &col.Name, &dataType, &col.NativeType, &nullable); err != nil {
			return nil, nil, fmt.Errorf("introspect columns: %w", err)
		}
		if !keep(table) {
			continue
		}
		col.NotNull = nullable == "NO"
		col.Type = attrType(strings.ToLower(dataType), strings.ToLower(col.NativeType))
		if strings.EqualFold(dataType, "enum") {
			col.ValueList = table + "." + col.Name
			lists = append(lists, driver.ValueList{Name: col.ValueList, Values: enumValues(col.NativeType)})
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
	if err := keys(ctx, db, tables); err != nil {
		return nil, nil, err
	}
	return tables, lists, nil
}

// keys fills in primary keys and the references of single-column foreign keys.
func keys(ctx context.Context, db *sql.DB, tables []sqltable.Table) error {
	rows, err := db.QueryContext(ctx, `
		SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, COALESCE(k.REFERENCED_TABLE_NAME, ''),
		       (SELECT COUNT(*) FROM information_schema.KEY_COLUMN_USAGE k2
		        WHERE k2.TABLE_SCHEMA = k.TABLE_SCHEMA AND k2.TABLE_NAME = k.TABLE_NAME
		          AND k2.CONSTRAINT_NAME = k.CONSTRAINT_NAME)
		FROM information_schema.KEY_COLUMN_USAGE k
		WHERE k.TABLE_SCHEMA = DATABASE()
		  AND (k.CONSTRAINT_NAME = 'PRIMARY' OR k.REFERENCED_TABLE_NAME IS NOT NULL)
		ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`)
	if err != nil {
		return fmt.Errorf("introspect keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, constraint, col, ref string
		var width int
		if err := rows.Scan(&table, &constraint, &col, &ref, &width); err != nil {
			return fmt.Errorf("introspect keys: %w", err)
		}
		t := find(tables, table)
		if t == nil {
			continue
		}
		switch {
		case constraint == "PRIMARY":
			t.Key = append(t.Key, col)
		case width == 1:
			for i := range t.Columns {
				if t.Columns[i].Name == col {
					t.Columns[i].Reference = ref
				}
			}
		}
	}
	return rows.Err()
}

func find(tables []sqltable.Table, name string) *sqltable.Table {
	for i := range tables {
		if tables[i].Name == name {
			return &tables[i]
		}
	}
	return nil
}

// enumValues reads the values of a column type such as enum('new','paid','it”s').
func enumValues(columnType string) []driver.Value {
	s := columnType[strings.Index(columnType, "(")+1:]
	var values []driver.Value
	var cur strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case !in && ch == '\'':
			in = true
			cur.Reset()
		case in && ch == '\'' && i+1 < len(s) && s[i+1] == '\'':
			cur.WriteByte('\'')
			i++
		case in && ch == '\'':
			in = false
			values = append(values, driver.Value{ID: cur.String(), Name: cur.String()})
		case in:
			cur.WriteByte(ch)
		}
	}
	return values
}

// attrType maps a MySQL data type to a catalog attribute type. tinyint(1) is how MySQL
// spells BOOLEAN.
func attrType(dataType, columnType string) string {
	switch dataType {
	case "tinyint":
		if strings.HasPrefix(columnType, "tinyint(1)") {
			return driver.AttrBoolean
		}
		return driver.AttrInteger
	case "smallint", "mediumint", "int", "integer", "bigint", "year":
		return driver.AttrInteger
	case "float", "double", "real":
		return driver.AttrNumber
	case "decimal", "numeric":
		return driver.AttrDecimal
	case "bool", "boolean":
		return driver.AttrBoolean
	case "datetime", "timestamp":
		return driver.AttrDateTime
	case "date":
		return driver.AttrDate
	case "json":
		return driver.AttrJSON
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit":
		return driver.AttrBinary
	}
	return driver.AttrString
}
