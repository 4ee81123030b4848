package csvdriver

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/junction-hub/junction/internal/connector"
	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/driver/drivertest"
)

// settings of the fixture: the semicolons, decimal commas and day-first dates of a
// German ERP export.
var settings = driver.Values{
	"delimiter": ";", "decimal_separator": ",", "thousands_separator": ".", "date_format": "DD.MM.YYYY",
	"key_column": "sku", "number_columns": "price, qty", "date_columns": "launched",
}

func TestConformanceKit(t *testing.T) {
	srv := httptest.NewServer(connector.Handler(Driver{}, connector.HandlerOptions{}))
	defer srv.Close()
	results := connector.Conformance(t.Context(), srv.URL, connector.KitFixture{
		Credentials:    driver.Values{"folder": "testdata"},
		BadCredentials: driver.Values{"folder": "no-such-folder"},
		Settings:       settings,
		Entity:         "products",
	}, connector.Options{})
	var table strings.Builder
	if connector.PrintResults(&table, results) > 0 {
		t.Errorf("the conformance kit failed:\n%s", table.String())
	}
}

// TestIncrementalReturnsOnlyChanges runs the in-process suite, which can change the file.
func TestIncrementalReturnsOnlyChanges(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/products.csv")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "products.csv")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	drivertest.Exercise(t, Driver{}, drivertest.Fixture{
		Good:   driver.Config{Credentials: driver.Values{"folder": dir}, Settings: settings},
		Bad:    driver.Config{Credentials: driver.Values{"folder": filepath.Join(dir, "nope")}, Settings: settings},
		Entity: "products",
		Mutate: func(context.Context) error {
			s := strings.Replace(string(src), "Paper;3,99;02.03.2025;2026-03-02 08:30:00", "Paper;4,19;02.03.2025;2026-04-01 00:00:00", 1)
			s += "C-1;Ink;2;;2026-04-02 00:00:00\n"
			return os.WriteFile(path, []byte(s), 0o600)
		},
		PageSize: 2,
	})
}

func TestConversions(t *testing.T) {
	got, err := drivertest.ReadAll(t.Context(), Driver{}, valid(t, settings), driver.ReadRequest{Entity: "products", Mode: driver.ReadFull, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	byKey := got.ByKey()
	want := map[string]any{"price": "1234.50", "launched": "2025-03-01", "updated_at": "2026-03-01T10:00:00Z", "name": "Stapler"}
	for k, v := range want {
		if byKey["A-100"][k] != v {
			t.Errorf("A-100 %s = %#v, want %#v", k, byKey["A-100"][k], v)
		}
	}
	if c := byKey["00123"]; c == nil || c["launched"] != nil || c["price"] != "0.5" {
		t.Errorf("00123 = %v (the key stays text, an empty date is null)", c)
	}
}

func TestCheckNamesTheField(t *testing.T) {
	tests := []struct {
		name      string
		creds     driver.Values
		settings  driver.Values
		wantField string
	}{
		{"missing folder", driver.Values{"folder": "nope"}, settings, "credentials.folder"},
		{"key column missing", driver.Values{"folder": "testdata"}, with(settings, "key_column", "id"), "settings.key_column"},
		{"two-character delimiter", driver.Values{"folder": "testdata"}, with(settings, "delimiter", ";;"), "settings.delimiter"},
		{"same separators", driver.Values{"folder": "testdata"}, with(settings, "thousands_separator", ","), "settings.thousands_separator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Driver{}.Check(t.Context(), valid(t, driver.Values(tt.settings), tt.creds))
			fe, ok := err.(driver.FieldErrors)
			if !ok || fe[0].Field != tt.wantField {
				t.Errorf("Check = %v, want a field error on %s", err, tt.wantField)
			}
		})
	}
}

func TestMalformedNumberNamesTheLine(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.csv"), []byte("sku;price\nA;1,5\nB;1,2,3\n"), 0o600)
	cfg := valid(t, settings, driver.Values{"folder": dir})
	_, err := drivertest.ReadAll(t.Context(), Driver{}, cfg, driver.ReadRequest{Entity: "p"})
	if !driver.IsConfig(err) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("Read = %v, want a config error naming line 3", err)
	}
}

func with(v driver.Values, k string, val any) driver.Values {
	out := driver.Values{}
	for kk, vv := range v {
		out[kk] = vv
	}
	out[k] = val
	return out
}

// valid validates settings (and credentials, default the testdata folder) like Junction does.
func valid(t *testing.T, settings driver.Values, creds ...driver.Values) driver.Config {
	t.Helper()
	c := driver.Values{"folder": "testdata"}
	if len(creds) > 0 {
		c = creds[0]
	}
	cfg, err := Driver{}.Spec().Validate(driver.Config{Credentials: c, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
