// Package csvdriver is the driver behind the example connector examples/csvconnector: a
// folder of CSV files, served over connector protocol v1 by its main package.
package csvdriver

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/junction-hub/junction/internal/driver"
)

// Driver mirrors a folder of CSV files: each NAME.csv is the entity NAME, its first row
// the header. Number and date columns are converted with the separator and format the
// settings give, as ERP exports need. An entity whose header has the updated_at column is
// read incrementally: rows whose updated_at is later than the last read's newest.
type Driver struct{}

// Date formats the date_format setting offers, as Go layouts.
var dateLayouts = map[string]string{
	"YYYY-MM-DD": "2006-01-02",
	"DD.MM.YYYY": "02.01.2006",
	"DD/MM/YYYY": "02/01/2006",
	"MM/DD/YYYY": "01/02/2006",
}

func (Driver) Spec() driver.Spec {
	return driver.Spec{
		Name: "csvfolder", Label: "CSV folder",
		Description: "Mirrors a folder of CSV files, one entity per file, as ERP exports drop them.",
		Credentials: []driver.Field{
			{Name: "folder", Label: "Folder", Type: driver.TypePath, Required: true,
				Help: "Folder on the connector's machine holding NAME.csv files."},
		},
		Settings: []driver.Field{
			{Name: "delimiter", Label: "Delimiter", Type: driver.TypeText, Default: ",", Help: "One character; \\t for tab."},
			{Name: "decimal_separator", Label: "Decimal separator", Type: driver.TypeSelect, Options: []string{".", ","}, Default: "."},
			{Name: "thousands_separator", Label: "Thousands separator", Type: driver.TypeSelect, Options: []string{"none", ".", ",", "space", "'"}, Default: "none"},
			{Name: "date_format", Label: "Date format", Type: driver.TypeSelect, Options: []string{"YYYY-MM-DD", "DD.MM.YYYY", "DD/MM/YYYY", "MM/DD/YYYY"}, Default: "YYYY-MM-DD"},
			{Name: "key_column", Label: "Key column", Type: driver.TypeText, Default: "id", Help: "Column that identifies a row in every file."},
			{Name: "number_columns", Label: "Number columns", Type: driver.TypeText, Help: "Comma-separated columns read as decimals; others stay text (so 00123 stays 00123)."},
			{Name: "date_columns", Label: "Date columns", Type: driver.TypeText, Help: "Comma-separated columns read with the date format."},
			{Name: "updated_at_column", Label: "Changed-at column", Type: driver.TypeText, Default: "updated_at",
				Help: "Files with this column are read incrementally. Values: RFC 3339, 'YYYY-MM-DD hh:mm:ss' or the date format; they must grow whenever a row changes."},
		},
		Capabilities: driver.Capabilities{Read: true},
	}
}

// options are the settings, parsed once per call.
type options struct {
	folder    string
	delimiter rune
	decimal   string
	thousands string
	date      string
	key       string
	numbers   []string
	dates     []string
	updatedAt string
}

func parseOptions(cfg driver.Config) (options, error) {
	o := options{
		folder: cfg.Credentials.String("folder"), decimal: cfg.Settings.String("decimal_separator"),
		date: dateLayouts[cfg.Settings.String("date_format")], key: cfg.Settings.String("key_column"),
		numbers: cfg.Settings.List("number_columns"), dates: cfg.Settings.List("date_columns"),
		updatedAt: cfg.Settings.String("updated_at_column"),
	}
	d := strings.ReplaceAll(cfg.Settings.String("delimiter"), `\t`, "\t")
	r, size := utf8.DecodeRuneInString(d)
	if size == 0 || size != len(d) || r == '"' || r == '\n' {
		return o, driver.SettingError("delimiter", "must be one character other than a quote or newline")
	}
	o.delimiter = r
	switch t := cfg.Settings.String("thousands_separator"); t {
	case "space":
		o.thousands = " "
	case "none", "":
	default:
		o.thousands = t
	}
	if o.thousands == o.decimal {
		return o, driver.SettingError("thousands_separator", "must differ from the decimal separator")
	}
	if o.date == "" {
		o.date = dateLayouts["YYYY-MM-DD"]
	}
	return o, nil
}

func (Driver) Check(ctx context.Context, cfg driver.Config) error {
	o, err := parseOptions(cfg)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(o.folder); err != nil || !fi.IsDir() {
		return driver.CredentialError("folder", "is not a folder the connector can read")
	}
	files, err := o.files()
	if err != nil {
		return err
	}
	for _, f := range files {
		header, err := o.header(f)
		if err != nil {
			return err
		}
		if !slices.Contains(header, o.key) {
			return driver.SettingError("key_column", fmt.Sprintf("%s has no column %q", filepath.Base(f), o.key))
		}
	}
	return nil
}

func (Driver) Discover(ctx context.Context, cfg driver.Config) (*driver.Catalog, error) {
	o, err := parseOptions(cfg)
	if err != nil {
		return nil, err
	}
	files, err := o.files()
	if err != nil {
		return nil, err
	}
	cat := &driver.Catalog{Entities: []driver.Entity{}, ValueLists: []driver.ValueList{}}
	for _, f := range files {
		header, err := o.header(f)
		if err != nil {
			return nil, err
		}
		e := driver.Entity{Name: strings.TrimSuffix(filepath.Base(f), ".csv"), Key: []string{o.key}}
		for _, col := range header {
			a := driver.Attribute{Name: col, Type: o.typeOf(col), Key: col == o.key, Required: col == o.key}
			e.Attributes = append(e.Attributes, a)
			if col == o.updatedAt && col != "" {
				e.Cursor = col
			}
		}
		cat.Entities = append(cat.Entities, e)
	}
	return cat, nil
}

func (o options) typeOf(col string) string {
	switch {
	case col == o.updatedAt:
		return driver.AttrDateTime
	case slices.Contains(o.numbers, col):
		return driver.AttrDecimal
	case slices.Contains(o.dates, col):
		return driver.AttrDate
	}
	return driver.AttrString
}

func (o options) files() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(o.folder, "*.csv"))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", o.folder, err)
	}
	return files, nil
}

func (o options) open(path string) (*os.File, *csv.Reader, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open %s: %w", filepath.Base(path), driver.ErrTransient)
	}
	r := csv.NewReader(f)
	r.Comma = o.delimiter
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("%w: %s: no header row: %v", driver.ErrConfig, filepath.Base(path), err)
	}
	header = slices.Clone(header)
	header[0] = strings.TrimPrefix(header[0], "\ufeff") // the byte-order mark spreadsheets write
	return f, r, header, nil
}

func (o options) header(path string) ([]string, error) {
	f, _, header, err := o.open(path)
	if err != nil {
		return nil, err
	}
	f.Close()
	return header, nil
}

// cursor is where a read stands. A read scans the whole file (CSV files are not sorted),
// keeping rows changed after Since; mid-file checkpoints say how many rows were scanned
// (Row) and the newest change seen so far (Max), so a resumed read goes on exactly there.
// The last checkpoint of a finished read is {Since: newest change, Row: 0}: the next
// incremental read starts over the file and keeps only rows changed after it.
type cursor struct {
	Since time.Time `json:"since,omitzero"`
	Row   int       `json:"row,omitempty"`
	Max   time.Time `json:"max,omitzero"`
}

func (Driver) Read(ctx context.Context, cfg driver.Config, req driver.ReadRequest, out driver.Emitter) error {
	o, err := parseOptions(cfg)
	if err != nil {
		return err
	}
	path := filepath.Join(o.folder, req.Entity+".csv")
	if strings.ContainsAny(req.Entity, `/\`) || !fileExists(path) {
		return fmt.Errorf("%w: no file %s.csv", driver.ErrUnknownEntity, req.Entity)
	}
	var cur cursor
	if req.Cursor != "" {
		if err := json.Unmarshal([]byte(req.Cursor), &cur); err != nil {
			return fmt.Errorf("%w: cursor %q is not one this connector wrote", driver.ErrConfig, req.Cursor)
		}
	}
	// A full read keeps every row (and still resumes at Row); so does an entity without
	// the updated_at column, which has no cursor in discover.
	incremental := req.Mode == driver.ReadIncremental && !cur.Since.IsZero()
	f, r, header, err := o.open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	keyAt, updAt := slices.Index(header, o.key), slices.Index(header, o.updatedAt)
	if keyAt < 0 {
		return driver.SettingError("key_column", fmt.Sprintf("%s.csv has no column %q", req.Entity, o.key))
	}
	pageSize := max(req.PageSize, 1)
	checkpoint := func(c cursor) error {
		b, _ := json.Marshal(c)
		return out.Checkpoint(ctx, string(b))
	}
	for row := 0; ; row++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %s.csv: %v", driver.ErrConfig, req.Entity, err)
		}
		if row < cur.Row {
			continue
		}
		line, _ := r.FieldPos(0)
		fields, changed, err := o.convert(header, rec, updAt)
		if err != nil {
			return fmt.Errorf("%w: %s.csv line %d: %v", driver.ErrConfig, req.Entity, line, err)
		}
		if changed.After(cur.Max) {
			cur.Max = changed
		}
		if !incremental || updAt < 0 || changed.After(cur.Since) {
			rec := driver.Record{Key: rec[keyAt], Fields: fields}
			if !changed.IsZero() {
				rec.UpdatedAt = &changed
			}
			if rec.Key == "" {
				return fmt.Errorf("%w: %s.csv line %d: empty %s", driver.ErrConfig, req.Entity, line, o.key)
			}
			if err := out.Record(ctx, rec); err != nil {
				return err
			}
		}
		if (row+1)%pageSize == 0 {
			cur.Row = row + 1
			if err := checkpoint(cur); err != nil {
				return err
			}
		}
	}
	return checkpoint(cursor{Since: cur.Max, Max: cur.Max})
}

// convert turns one CSV row into fields, and returns when the row last changed.
func (o options) convert(header, rec []string, updAt int) (map[string]any, time.Time, error) {
	fields := make(map[string]any, len(header))
	var changed time.Time
	for i, col := range header {
		v := rec[i]
		switch {
		case v == "" && col != o.key:
			fields[col] = nil
		case i == updAt:
			t, err := o.parseTime(v)
			if err != nil {
				return nil, changed, fmt.Errorf("%s: %v", col, err)
			}
			changed = t
			fields[col] = t.Format(time.RFC3339Nano)
		case slices.Contains(o.numbers, col):
			n, err := o.parseNumber(v)
			if err != nil {
				return nil, changed, fmt.Errorf("%s: %v", col, err)
			}
			fields[col] = n
		case slices.Contains(o.dates, col):
			t, err := time.Parse(o.date, v)
			if err != nil {
				return nil, changed, fmt.Errorf("%s: %q is not a date in the format %s", col, v, o.date)
			}
			fields[col] = t.Format("2006-01-02")
		default:
			fields[col] = v
		}
	}
	return fields, changed, nil
}

// parseNumber reads "1.234,50" (decimal ",", thousands ".") as the decimal text "1234.50",
// keeping every digit: decimals travel as text so no float rounds them.
func (o options) parseNumber(s string) (string, error) {
	s = strings.TrimSpace(s)
	if o.thousands != "" {
		s = strings.ReplaceAll(s, o.thousands, "")
	}
	if o.decimal != "." {
		if strings.Contains(s, ".") {
			return "", fmt.Errorf("%q has a '.' but the decimal separator is %q", s, o.decimal)
		}
		s = strings.ReplaceAll(s, o.decimal, ".")
	}
	digits, point, sign := 0, 0, 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			point++
		case (c == '-' || c == '+') && i == 0:
			sign++
		default:
			return "", fmt.Errorf("%q is not a number", s)
		}
	}
	if digits == 0 || point > 1 {
		return "", fmt.Errorf("%q is not a number", s)
	}
	return strings.TrimPrefix(s, "+"), nil
}

func (o options) parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", o.date + " 15:04:05", o.date + " 15:04", o.date} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time", s)
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
