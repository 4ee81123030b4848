package tryton_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/driver/drivertest"
	"github.com/junction-hub/junction/internal/drivers/sqltable/sqltabletest"
	"github.com/junction-hub/junction/internal/drivers/tryton"
	"github.com/junction-hub/junction/internal/drivers/tryton/rpc"
	"github.com/junction-hub/junction/internal/drivers/tryton/trytontest"
)

// config returns a validated config for the instance, with settings overrides.
func config(tb testing.TB, in trytontest.Instance, settings driver.Values) driver.Config {
	tb.Helper()
	cfg, err := tryton.Spec().Validate(driver.Config{Credentials: in.Credentials(), Settings: settings})
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

func TestCheck(t *testing.T) {
	in := trytontest.Start(t)
	good := config(t, in, nil)
	notTryton := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>a web page</html>"))
	}))
	defer notTryton.Close()
	tests := []struct {
		name      string
		cfg       driver.Config
		wantField string // "" means Check passes
		transient bool
	}{
		{name: "good", cfg: good},
		{name: "listed models", cfg: sqltabletest.With(good, "settings", "models", "sale.sale, party.party")},
		{name: "wrong password", cfg: sqltabletest.With(good, "credentials", "password", "not-the-password"), wantField: "credentials.password"},
		{name: "unknown user", cfg: sqltabletest.With(good, "credentials", "username", "nobody"), wantField: "credentials.password"},
		{name: "unknown database", cfg: sqltabletest.With(good, "credentials", "database", "nodb"), wantField: "credentials.database"},
		{name: "unknown model", cfg: sqltabletest.With(good, "settings", "models", "sale.sale,no.such.model"), wantField: "settings.models"},
		{name: "match fields", cfg: sqltabletest.With(good, "settings", "match_fields", "party.party:name, product.product:code")},
		{name: "match field not a pair", cfg: sqltabletest.With(good, "settings", "match_fields", "party.party"), wantField: "settings.match_fields"},
		{name: "match field of no model", cfg: sqltabletest.With(good, "settings", "match_fields", "no.such.model:code"), wantField: "settings.match_fields"},
		{name: "match field not a field", cfg: sqltabletest.With(good, "settings", "match_fields", "party.party:colour"), wantField: "settings.match_fields"},
		{name: "wrong path", cfg: sqltabletest.With(good, "credentials", "url", in.URL+"nothing/here/"), wantField: "credentials.url"},
		{name: "not tryton", cfg: sqltabletest.With(good, "credentials", "url", notTryton.URL), wantField: "credentials.url"},
		{name: "nothing listening", cfg: sqltabletest.With(good, "credentials", "url", "http://127.0.0.1:1/"), transient: true},
	}
	d := tryton.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.Check(t.Context(), tt.cfg)
			if tt.wantField == "" && !tt.transient {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check passed")
			}
			if strings.Contains(err.Error(), tt.cfg.Credentials.String("password")) {
				t.Fatalf("error %q contains the password", err)
			}
			if tt.transient {
				if !errors.Is(err, driver.ErrTransient) {
					t.Fatalf("err = %v, want transient", err)
				}
				return
			}
			var fe driver.FieldErrors
			if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Field != tt.wantField {
				t.Fatalf("err = %v, want a field error on %s", err, tt.wantField)
			}
		})
	}
}

func TestDiscover(t *testing.T) {
	in := trytontest.Start(t)
	cat, err := tryton.New().Discover(t.Context(), config(t, in, nil))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range cat.Entities {
		names = append(names, e.Name)
	}
	if want := strings.Split(tryton.DefaultModels, ","); !slices.Equal(names, want) {
		t.Fatalf("entities = %v, want %v", names, want)
	}
	sale, _ := cat.Entity("sale.sale")
	if !slices.Equal(sale.Key, []string{"id"}) || sale.Cursor != "write_date" || sale.Label != "Sale" {
		t.Fatalf("sale.sale = key %v cursor %q label %q", sale.Key, sale.Cursor, sale.Label)
	}
	tests := []struct {
		entity, attr string
		want         driver.Attribute
	}{
		{"sale.sale", "id", driver.Attribute{Name: "id", Type: driver.AttrInteger, NativeType: "integer", Key: true}},
		{"sale.sale", "state", driver.Attribute{Name: "state", Type: driver.AttrString, NativeType: "selection", Required: true, ValueList: "sale.sale.state"}},
		{"sale.sale", "party", driver.Attribute{Name: "party", Type: driver.AttrInteger, NativeType: "many2one", Required: true, Reference: "party.party"}},
		{"sale.sale", "sale_date", driver.Attribute{Name: "sale_date", Type: driver.AttrDate, NativeType: "date"}},
		{"sale.sale", "write_date", driver.Attribute{Name: "write_date", Type: driver.AttrDateTime, NativeType: "timestamp"}},
		{"sale.line", "sale", driver.Attribute{Name: "sale", Type: driver.AttrInteger, NativeType: "many2one", Required: true, Reference: "sale.sale"}},
		{"sale.line", "unit_price", driver.Attribute{Name: "unit_price", Type: driver.AttrDecimal, NativeType: "numeric"}},
		{"sale.line", "quantity", driver.Attribute{Name: "quantity", Type: driver.AttrNumber, NativeType: "float"}},
		{"party.party", "name", driver.Attribute{Name: "name", Type: driver.AttrString, NativeType: "char"}},
		{"product.product", "template", driver.Attribute{Name: "template", Type: driver.AttrInteger, NativeType: "many2one", Required: true, Reference: "product.template"}},
		{"stock.move", "product", driver.Attribute{Name: "product", Type: driver.AttrInteger, NativeType: "many2one", Required: true, Reference: "product.product"}},
		// Write-only: lines written with their sale, and the workflow buttons.
		{"sale.sale", "lines", driver.Attribute{Name: "lines", Type: driver.AttrJSON, NativeType: "one2many"}},
		{"party.party", "addresses", driver.Attribute{Name: "addresses", Type: driver.AttrJSON, NativeType: "one2many"}},
		{"sale.sale", "_buttons", driver.Attribute{Name: "_buttons", Type: driver.AttrJSON, NativeType: "buttons", ValueList: "sale.sale._buttons"}},
	}
	for _, tt := range tests {
		e, _ := cat.Entity(tt.entity)
		got, ok := e.Attribute(tt.attr)
		if !ok || got != tt.want {
			t.Errorf("%s.%s = %+v (found %v), want %+v", tt.entity, tt.attr, got, ok, tt.want)
		}
	}
	// Computed fields and read-only lists of other records are not mirrored.
	for _, name := range []string{"sale.sale.rec_name", "sale.sale.total_amount", "sale.sale.moves", "sale.sale.invoices",
		"party.party.distance", "product.product.name", "product.product.list_price", "product.template.list_price",
		"party.party._buttons"} {
		model, attr := name[:strings.LastIndex(name, ".")], name[strings.LastIndex(name, ".")+1:]
		e, _ := cat.Entity(model)
		if _, ok := e.Attribute(attr); ok {
			t.Errorf("%s has attribute %s", model, attr)
		}
	}
	// Stored fields are, even when Tryton loads them lazily (translated names).
	for _, name := range []string{"product.template.name", "product.product.code", "product.product.suffix_code", "sale.sale.comment"} {
		model, attr := name[:strings.LastIndex(name, ".")], name[strings.LastIndex(name, ".")+1:]
		e, _ := cat.Entity(model)
		if _, ok := e.Attribute(attr); !ok {
			t.Errorf("%s has no attribute %s", model, attr)
		}
	}
	var states map[string]string
	for _, l := range cat.ValueLists {
		if l.Name == "sale.sale.state" {
			states = map[string]string{}
			for _, v := range l.Values {
				states[v.ID] = v.Name
			}
		}
	}
	for id, name := range map[string]string{"draft": "Draft", "quotation": "Quotation", "confirmed": "Confirmed", "cancelled": "Cancelled"} {
		if states[id] != name {
			t.Errorf("value list sale.sale.state: %s = %q, want %q (all: %v)", id, states[id], name, states)
		}
	}
	var buttons []string
	for _, l := range cat.ValueLists {
		if l.Name == "sale.sale._buttons" {
			for _, v := range l.Values {
				buttons = append(buttons, v.ID)
			}
		}
	}
	for _, b := range []string{"quote", "confirm", "process", "cancel", "draft"} {
		if !slices.Contains(buttons, b) {
			t.Errorf("value list sale.sale._buttons = %v, want %s in it", buttons, b)
		}
	}
}

func TestDiscoverListedModels(t *testing.T) {
	in := trytontest.Start(t)
	cat, err := tryton.New().Discover(t.Context(), config(t, in, driver.Values{"models": "sale.sale,party.party"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Entities) != 2 || cat.Entities[0].Name != "sale.sale" || cat.Entities[1].Name != "party.party" {
		t.Fatalf("entities = %+v", cat.Entities)
	}
}

func read(tb testing.TB, cfg driver.Config, entity, cursor string, pageSize int) drivertest.Read {
	tb.Helper()
	mode := driver.ReadFull
	if cursor != "" {
		mode = driver.ReadIncremental
	}
	r, err := drivertest.ReadAll(tb.Context(), tryton.New(), cfg, driver.ReadRequest{Entity: entity, Mode: mode, Cursor: cursor, PageSize: pageSize})
	if err != nil {
		tb.Fatalf("read %s: %v", entity, err)
	}
	return r
}

func key(id int64) string { return strconv.FormatInt(id, 10) }

func TestReadProductsAndSales(t *testing.T) {
	in := trytontest.Start(t)
	c := in.Client(t)
	cfg := config(t, in, nil)
	products := createProducts(t, c, "19.90", "P-1", "P-2")
	party := createParties(t, c, "Alice")[0]
	sale := createSale(t, c, party, products[1], 3, "18.50")

	// A deactivated product is still there (only deleted records are gone).
	call(t, c, "model.product.product.write", nil, []int64{products[0]}, map[string]any{"active": false})
	byKey := read(t, cfg, "product.product", "", 0).ByKey()
	for i, code := range []string{"P-1", "P-2"} {
		p, ok := byKey[key(products[i])]
		if !ok || p["code"] != code || p["active"] != (i == 1) {
			t.Fatalf("product %d = %v, want code %s (all: %v)", products[i], p, code, byKey)
		}
	}
	sales := read(t, cfg, "sale.sale", "", 0)
	got := sales.ByKey()[key(sale)]
	if got == nil || got["party"] != party || got["state"] != "draft" || got["company"] != in.Company || got["currency"] != in.Currency {
		t.Fatalf("sale = %v", got)
	}
	if rec := sales.Records[0]; rec.UpdatedAt == nil || time.Since(*rec.UpdatedAt) > time.Hour || time.Until(*rec.UpdatedAt) > time.Hour {
		t.Fatalf("sale's UpdatedAt = %v, want its create_date", rec.UpdatedAt)
	}
	lines := read(t, cfg, "sale.line", "", 0).Records
	if len(lines) != 1 {
		t.Fatalf("sale lines = %v", lines)
	}
	l := lines[0].Fields
	if l["sale"] != sale || l["product"] != products[1] || l["quantity"] != 3.0 || l["unit_price"] != "18.50" {
		t.Fatalf("sale line = %v", l)
	}
}

func TestReadPagesAndIncrements(t *testing.T) {
	in := trytontest.Start(t)
	c := in.Client(t)
	cfg := config(t, in, driver.Values{"models": "party.party"})
	// Five parties made in one transaction share their create_date: page borders (page
	// size 2) fall between records with the same timestamp.
	ids := createParties(t, c, "A", "B", "C", "D", "E")
	full := read(t, cfg, "party.party", "", 2)
	want := []string{key(in.CompanyParty)}
	for _, id := range ids {
		want = append(want, key(id))
	}
	if !slices.Equal(full.Keys(), want) {
		t.Fatalf("full read keys = %v, want %v", full.Keys(), want)
	}
	if len(full.Checkpoints) < 3 {
		t.Fatalf("checkpoints = %v, want one per page", full.Checkpoints)
	}
	if again := read(t, cfg, "party.party", full.LastCheckpoint(), 2); len(again.Records) != 0 {
		t.Fatalf("incremental read with nothing changed = %v", again.Keys())
	}

	// Three parties renamed in one write share their write_date; one party is new.
	call(t, c, "model.party.party.write", nil, []int64{ids[3], ids[0], ids[1]}, map[string]any{"name": "renamed"})
	added := createParties(t, c, "F")
	inc := read(t, cfg, "party.party", full.LastCheckpoint(), 2)
	wantInc := []string{key(added[0]), key(ids[0]), key(ids[1]), key(ids[3])}
	if !slices.Equal(inc.Keys(), wantInc) {
		t.Fatalf("incremental keys = %v, want %v (new first, then the written by id)", inc.Keys(), wantInc)
	}
	for _, r := range inc.Records[1:] {
		if r.Fields["name"] != "renamed" {
			t.Fatalf("record %s = %v", r.Key, r.Fields)
		}
	}
	// Resuming from a checkpoint in the middle of the written phase repeats nothing.
	// The border between the written phase's pages falls between two records written
	// together.
	mid := inc.Checkpoints[1] // after the page holding the first two renamed
	rest := read(t, cfg, "party.party", mid, 2)
	if !slices.Equal(rest.Keys(), wantInc[3:]) {
		t.Fatalf("resumed keys = %v, want %v", rest.Keys(), wantInc[3:])
	}
	if after := read(t, cfg, "party.party", inc.LastCheckpoint(), 2); len(after.Records) != 0 {
		t.Fatalf("read after the increment = %v", after.Keys())
	}
}

func TestReadUnknownEntity(t *testing.T) {
	in := trytontest.Start(t)
	for _, entity := range []string{"res.user", "no.such.model"} {
		_, err := drivertest.ReadAll(t.Context(), tryton.New(), config(t, in, driver.Values{"models": "party.party," + entity + ",sale.sale"}),
			driver.ReadRequest{Entity: "account.move"})
		if !errors.Is(err, driver.ErrUnknownEntity) {
			t.Fatalf("read of an unconfigured model: %v", err)
		}
	}
	_, err := drivertest.ReadAll(t.Context(), tryton.New(), config(t, in, driver.Values{"models": "no.such.model"}),
		driver.ReadRequest{Entity: "no.such.model"})
	if !errors.Is(err, driver.ErrUnknownEntity) {
		t.Fatalf("read of a missing model: %v", err)
	}
}

func write(tb testing.TB, cfg driver.Config, entity string, records ...driver.WriteRecord) []driver.WriteResult {
	tb.Helper()
	res, err := tryton.New().Write(tb.Context(), cfg, entity, records)
	if err != nil {
		tb.Fatalf("write %s: %v", entity, err)
	}
	if len(res) != len(records) {
		tb.Fatalf("write %s: %d results for %d records", entity, len(res), len(records))
	}
	return res
}

// readOne reads fields of one record through Tryton's API.
func readOne(tb testing.TB, in trytontest.Instance, model string, id string, fields ...string) map[string]any {
	tb.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		tb.Fatalf("key %q is not an id", id)
	}
	var rows []map[string]any
	call(tb, in.Client(tb), "model."+model+".read", &rows, []int64{n}, fields)
	if len(rows) != 1 {
		tb.Fatalf("%s %s: %v", model, id, rows)
	}
	return rows[0]
}

func TestWritePartiesAndProducts(t *testing.T) {
	in := trytontest.Start(t)
	c := in.Client(t)
	cfg := config(t, in, nil)
	u := unit(t, c)

	res := write(t, cfg, "party.party",
		driver.WriteRecord{Op: driver.OpCreate, Key: "webshop-7", Fields: map[string]any{"name": "Written Party"}},
		driver.WriteRecord{Op: driver.OpCreate, Fields: map[string]any{"name": "Bad", "colour": "red"}},
		driver.WriteRecord{Op: driver.OpUpdate, Key: "999999", Fields: map[string]any{"name": "Ghost"}},
	)
	if !res[0].OK || res[0].Key == "webshop-7" || res[0].Key == "" {
		t.Fatalf("create result = %+v, want ok with the new id as key", res[0])
	}
	if res[1].OK || !strings.Contains(res[1].Error, "colour: is not a field of party.party") {
		t.Fatalf("unknown field result = %+v", res[1])
	}
	if res[2].OK || !strings.Contains(res[2].Error, "does not exist") || res[2].Key != "999999" {
		t.Fatalf("update of a missing record = %+v", res[2])
	}
	if got := readOne(t, in, "party.party", res[0].Key, "name"); got["name"] != "Written Party" {
		t.Fatalf("created party = %v", got)
	}
	var bad []int64
	call(t, c, "model.party.party.search", &bad, []any{[]any{"name", "=", "Bad"}})
	if len(bad) != 0 {
		t.Fatal("the refused record was created")
	}

	res = write(t, cfg, "party.party", driver.WriteRecord{Op: driver.OpUpdate, Key: res[0].Key, Fields: map[string]any{"name": "Renamed Party"}})
	if !res[0].OK {
		t.Fatalf("update = %+v", res[0])
	}
	if got := readOne(t, in, "party.party", res[0].Key, "name"); got["name"] != "Renamed Party" {
		t.Fatalf("updated party = %v", got)
	}
	// An upsert of a deactivated party updates it instead of making another one.
	partyID, _ := strconv.ParseInt(res[0].Key, 10, 64)
	call(t, c, "model.party.party.write", nil, []int64{partyID}, map[string]any{"active": false})
	countParties := func() int64 {
		var n int64 // naming active in the domain counts inactive parties too
		call(t, c, "model.party.party.search_count", &n, []any{[]any{"active", "in", []bool{true, false}}})
		return n
	}
	before := countParties()
	res = write(t, cfg, "party.party", driver.WriteRecord{Op: driver.OpUpsert, Key: res[0].Key, Fields: map[string]any{"name": "Sleeping Party"}})
	if got := readOne(t, in, "party.party", res[0].Key, "name"); !res[0].OK || got["name"] != "Sleeping Party" {
		t.Fatalf("upsert of an inactive party = %+v, party %v", res[0], got)
	}
	if after := countParties(); after != before {
		t.Fatalf("upsert of an inactive party made %d parties", after-before)
	}

	res = write(t, cfg, "product.template",
		driver.WriteRecord{Op: driver.OpUpsert, Fields: map[string]any{
			"name": "Written Product", "type": "goods", "default_uom": u, "salable": true, "sale_uom": u,
			"list_price": "12.50", "products": []any{[]any{"create", []any{map[string]any{"suffix_code": "W-1"}}}},
		}},
		driver.WriteRecord{Op: driver.OpCreate, Fields: map[string]any{"name": "No Unit", "type": "goods", "list_price": "1"}},
		driver.WriteRecord{Op: driver.OpCreate, Fields: map[string]any{"name": "Bad Price", "list_price": "cheap"}},
	)
	if !res[0].OK {
		t.Fatalf("product create = %+v", res[0])
	}
	if res[1].OK || res[1].Error == "" {
		t.Fatalf("a product without its required unit = %+v", res[1])
	}
	if res[2].OK || !strings.Contains(res[2].Error, "list_price: must be a decimal number") {
		t.Fatalf("a product with a bad price = %+v", res[2])
	}
	res = write(t, cfg, "product.template", driver.WriteRecord{Op: driver.OpUpsert, Key: res[0].Key, Fields: map[string]any{"list_price": "13.75"}})
	if !res[0].OK {
		t.Fatalf("product update = %+v", res[0])
	}
	got := readOne(t, in, "product.template", res[0].Key, "name", "list_price")
	if got["name"] != "Written Product" || got["list_price"].(map[string]any)["decimal"] != "13.75" {
		t.Fatalf("written product = %v", got)
	}
}

func TestWriteSaleThroughButtons(t *testing.T) {
	in := trytontest.Start(t)
	c := in.Client(t)
	cfg := config(t, in, nil)
	party := createParties(t, c, "Customer")[0]
	product := createProducts(t, c, "10", "S-1")[0]
	var noAddress []int64
	call(t, c, "model.party.party.create", &noAddress, []any{map[string]any{"name": "Nowhere", "addresses": []any{}}})
	line := func(qty float64) []any {
		return []any{[]any{"create", []any{map[string]any{"product": product, "quantity": qty, "unit": unit(t, c), "unit_price": rpc.Decimal("10"), "description": "line"}}}}
	}
	draft := createSale(t, c, party, product, 1, "10")

	res := write(t, cfg, "sale.sale",
		// A new sale, quoted and confirmed in the same write.
		driver.WriteRecord{Op: driver.OpCreate, Fields: map[string]any{
			"party": party, "invoice_address": address(t, c, party), "shipment_address": address(t, c, party),
			"invoice_method": "manual", "lines": line(2),
			tryton.ButtonsField: []any{"quote", "confirm"}}},
		// An existing draft sale, quoted only: buttons alone.
		driver.WriteRecord{Op: driver.OpUpdate, Key: key(draft), Fields: map[string]any{tryton.ButtonsField: "quote"}},
		// A sale Tryton refuses to quote: its party has no address.
		driver.WriteRecord{Op: driver.OpCreate, Fields: map[string]any{
			"party": noAddress[0], "invoice_method": "manual", "lines": line(1), tryton.ButtonsField: []any{"quote"}}},
		// A button the model does not have.
		driver.WriteRecord{Op: driver.OpUpdate, Key: key(draft), Fields: map[string]any{tryton.ButtonsField: []any{"explode"}}},
	)
	if !res[0].OK || !res[1].OK {
		t.Fatalf("results = %+v", res)
	}
	if state := readOne(t, in, "sale.sale", res[0].Key, "state")["state"]; state != "confirmed" && state != "processing" {
		t.Fatalf("confirmed sale's state = %v", state)
	}
	if state := readOne(t, in, "sale.sale", key(draft), "state")["state"]; state != "quotation" {
		t.Fatalf("quoted sale's state = %v", state)
	}
	if res[2].OK || !strings.HasPrefix(res[2].Error, "button quote: ") || res[2].Key == "" {
		t.Fatalf("refused quote = %+v", res[2])
	}
	// The sale was created before its button failed: its result names it, in draft.
	if state := readOne(t, in, "sale.sale", res[2].Key, "state")["state"]; state != "draft" {
		t.Fatalf("sale whose quote failed is %v", state)
	}
	if res[3].OK || res[3].Error != "sale.sale has no button explode" {
		t.Fatalf("unknown button = %+v", res[3])
	}
	// The sale's lines and moves are there to be read.
	lines := read(t, cfg, "sale.line", "", 0).Records
	if len(lines) != 3 {
		t.Fatalf("sale lines = %d, want 3", len(lines))
	}
}

func TestLookup(t *testing.T) {
	in := trytontest.Start(t)
	c := in.Client(t)
	cfg := config(t, in, nil)
	products := createProducts(t, c, "24.90", "L-1", "L-2")
	receive(t, c, in.Company, in.Currency, products[0], 7)
	party := createParties(t, c, "Buyer")[0]
	sale := createSale(t, c, party, products[0], 2, "24.90")
	call(t, c, "model.sale.sale.quote", nil, []int64{sale})
	call(t, c, "model.sale.sale.confirm", nil, []int64{sale})

	got, err := tryton.New().Lookup(t.Context(), cfg, "product.product", []string{key(products[0]), key(products[1]), "999999", "nonsense"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]any{
		key(products[0]): {"list_price": "24.90", "quantity": 7.0, "forecast_quantity": 5.0},
		key(products[1]): {"list_price": "24.90", "quantity": 0.0, "forecast_quantity": 0.0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("lookup = %v, want %v", got, want)
	}
	got, err = tryton.New().Lookup(t.Context(), cfg, "product.product", []string{key(products[0])}, []string{"quantity"})
	if err != nil || !reflect.DeepEqual(got, map[string]map[string]any{key(products[0]): {"quantity": 7.0}}) {
		t.Fatalf("lookup of quantity = %v, %v", got, err)
	}
	if _, err := tryton.New().Lookup(t.Context(), cfg, "product.product", []string{key(products[0])}, []string{"colour"}); !driver.IsConfig(err) {
		t.Fatalf("lookup of an unknown field: %v", err)
	}
}

// stopAfter is an emitter that stops a read with its own error after n records.
type stopAfter struct {
	n, seen int
	err     error
}

func (s *stopAfter) Record(context.Context, driver.Record) error {
	s.seen++
	if s.seen >= s.n {
		return s.err
	}
	return nil
}
func (s *stopAfter) Delete(context.Context, string) error     { return nil }
func (s *stopAfter) Checkpoint(context.Context, string) error { return nil }
func (s *stopAfter) Log(context.Context, string)              {}

// TestReadStoppedByEmitter: an emitter's error stops the read and comes back as it was
// given (a flow stops its scan for earlier writes this way), not as Tryton's error.
func TestReadStoppedByEmitter(t *testing.T) {
	in := trytontest.Start(t)
	createParties(t, in.Client(t), "A", "B", "C")
	done := errors.New("found what I looked for")
	out := &stopAfter{n: 2, err: done}
	err := tryton.New().Read(t.Context(), config(t, in, nil), driver.ReadRequest{Entity: "party.party", PageSize: 1}, out)
	if !errors.Is(err, done) || out.seen != 2 {
		t.Fatalf("read = %v after %d records, want the emitter's own error after 2", err, out.seen)
	}
}
