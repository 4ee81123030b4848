package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/driver/drivertest"
)

// KitFixture is what the conformance kit needs to know about the connector under test.
type KitFixture struct {
	Credentials driver.Values // credentials that work
	Settings    driver.Values // settings used with both credential sets
	// BadCredentials are well-formed but wrong; nil skips the "check fails" row.
	BadCredentials driver.Values
	// Entity names an entity with a few records; "" takes the first one discovered.
	Entity string
	// WriteKey and WriteFields, when set and the spec can write, are upserted and read back.
	WriteKey    string
	WriteFields map[string]any
	// PageSize for the reads; 0 means 3, so a few records span pages.
	PageSize int
}

// Status of one kit row.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "FAIL"
	Skip Status = "skip"
)

// KitResult is one row of the kit's table.
type KitResult struct {
	Name   string
	Status Status
	Detail string
}

// Names of the kit's own rows (the rest are drivertest's).
const (
	RowSpecShape     = "spec is JSON of the right shape"
	RowStream        = "read stream is well-formed NDJSON ending with an end line"
	RowUnknownEntity = "read of an unknown entity is a config error"
	RowIncremental   = "incremental read from the last checkpoint is empty"
)

// Conformance runs the conformance kit against the connector at url: the driver conformance
// suite every built-in driver passes (drivertest.Run, through a Client), plus what only a
// remote connector can get wrong (the spec document's shape, the NDJSON stream, its end
// line, problem kinds). It cannot change the remote system, so the incremental check reads
// everything, takes the final checkpoint and reads incrementally from there: with nothing
// changed in between, that read must return no records. Run it against quiet data.
func Conformance(ctx context.Context, url string, fx KitFixture, opts Options) []KitResult {
	var out []KitResult
	add := func(name string, err error) {
		r := KitResult{Name: name, Status: Pass}
		var skip skipped
		switch {
		case errors.As(err, &skip):
			r.Status, r.Detail = Skip, string(skip)
		case err != nil:
			r.Status, r.Detail = Fail, err.Error()
		}
		out = append(out, r)
	}
	if fx.PageSize == 0 {
		fx.PageSize = 3
	}

	probe := &Client{url: strings.TrimRight(url, "/"), opts: opts.withDefaults()}
	spec, err := specShape(ctx, probe)
	add(RowSpecShape, err)
	if err != nil {
		return out // without a spec nothing else can be asked
	}
	c := NewClient(url, spec, opts)
	d := c.Driver()
	good := driver.Config{Credentials: fx.Credentials, Settings: fx.Settings}
	validGood, goodErr := spec.Validate(good)

	// Find the entity (and its cursor) before the suite needs it.
	var entity driver.Entity
	if goodErr == nil {
		if cat, err := c.Discover(ctx, validGood); err == nil {
			if fx.Entity == "" && len(cat.Entities) > 0 {
				fx.Entity = cat.Entities[0].Name
			}
			entity, _ = cat.Entity(fx.Entity)
		}
	}

	suite := drivertest.Fixture{
		Good: good, Entity: fx.Entity, PageSize: fx.PageSize,
		WriteKey: fx.WriteKey, WriteFields: fx.WriteFields,
	}
	if fx.BadCredentials != nil {
		suite.Bad = driver.Config{Credentials: fx.BadCredentials, Settings: fx.Settings}
	}
	for _, r := range drivertest.Run(ctx, d, suite) {
		switch {
		case r.Name == drivertest.CheckBad && fx.BadCredentials == nil:
			add(r.Name, skipped("no bad credentials given (--bad-credentials)"))
		case r.OK:
			add(r.Name, nil)
		default:
			add(r.Name, errors.New(r.Detail))
		}
	}
	switch {
	case !spec.Capabilities.Write:
		add(drivertest.CheckWrite, skipped("the spec does not declare write"))
	case fx.WriteFields == nil:
		add(drivertest.CheckWrite, skipped("no write fixture given (--write)"))
	}

	need := func() error {
		if goodErr != nil {
			return fmt.Errorf("skipped: the good config does not validate: %w", goodErr)
		}
		return nil
	}
	add(RowStream, firstErr(need(), func() error { return checkStream(ctx, d, validGood, fx) }))
	add(RowUnknownEntity, firstErr(need(), func() error { return checkUnknownEntity(ctx, d, validGood) }))
	add(RowIncremental, firstErr(need(), func() error { return checkIncremental(ctx, d, validGood, fx, entity) }))
	return out
}

// skipped is a row that does not apply; it neither passes nor fails.
type skipped string

func (s skipped) Error() string { return string(s) }

func firstErr(err error, fn func() error) error {
	if err != nil {
		return err
	}
	return fn()
}

// specShape fetches the spec document and checks its JSON shape member by member, so an
// author reads "credentials[1].secret must be a boolean" rather than a decoding error.
func specShape(ctx context.Context, c *Client) (driver.Spec, error) {
	raw, err := c.specDocument(ctx)
	if err != nil {
		return driver.Spec{}, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return driver.Spec{}, fmt.Errorf("GET %s is not a JSON object: %v", PathSpec, err)
	}
	var problems []string
	wantType := func(path string, v any, present bool, kind string, required bool) {
		if !present {
			if required {
				problems = append(problems, path+" is missing")
			}
			return
		}
		ok := false
		switch kind {
		case "string":
			_, ok = v.(string)
		case "boolean":
			_, ok = v.(bool)
		case "array":
			_, ok = v.([]any)
		case "object":
			_, ok = v.(map[string]any)
		}
		if !ok {
			problems = append(problems, path+" must be a "+kind)
		}
	}
	member := func(m map[string]any, k string) (any, bool) { v, ok := m[k]; return v, ok }
	for _, k := range []string{"name", "label"} {
		v, ok := member(doc, k)
		wantType(k, v, ok, "string", true)
	}
	for _, group := range []string{"credentials", "settings"} {
		v, ok := member(doc, group)
		wantType(group, v, ok, "array", true)
		fields, _ := v.([]any)
		for i, f := range fields {
			path := fmt.Sprintf("%s[%d]", group, i)
			fm, isObj := f.(map[string]any)
			if !isObj {
				problems = append(problems, path+" must be an object")
				continue
			}
			for _, k := range []string{"name", "label", "type"} {
				v, ok := member(fm, k)
				wantType(path+"."+k, v, ok, "string", k != "label")
			}
			for _, k := range []string{"required", "secret"} {
				v, ok := member(fm, k)
				wantType(path+"."+k, v, ok, "boolean", false)
			}
			v, ok := member(fm, "options")
			wantType(path+".options", v, ok, "array", false)
		}
	}
	caps, ok := member(doc, "capabilities")
	wantType("capabilities", caps, ok, "object", true)
	if cm, isObj := caps.(map[string]any); isObj {
		for _, k := range []string{"read", "write", "lookup", "webhooks"} {
			v, ok := member(cm, k)
			wantType("capabilities."+k, v, ok, "boolean", k == "read")
		}
	}
	if len(problems) > 0 {
		return driver.Spec{}, errors.New(strings.Join(problems, "; "))
	}
	spec, err := parseSpec(raw)
	if err != nil {
		return driver.Spec{}, err
	}
	if !spec.Capabilities.Read {
		return driver.Spec{}, errors.New("capabilities.read must be true: every connector reads")
	}
	return spec, nil
}

// checkStream reads the entity in full and names what is wrong with the stream itself.
func checkStream(ctx context.Context, d driver.Driver, cfg driver.Config, fx KitFixture) error {
	_, err := drivertest.ReadAll(ctx, d, cfg, driver.ReadRequest{Entity: fx.Entity, Mode: driver.ReadFull, PageSize: fx.PageSize})
	var pe *ProtocolError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, ErrTruncated):
		return fmt.Errorf(`the stream ended without a final {"type":"end"} line, so Junction cannot tell a finished read from a dropped one: %w`, err)
	}
	return err
}

func checkUnknownEntity(ctx context.Context, d driver.Driver, cfg driver.Config) error {
	const name = "junction_conformance_no_such_entity"
	_, err := drivertest.ReadAll(ctx, d, cfg, driver.ReadRequest{Entity: name, Mode: driver.ReadFull, PageSize: 3})
	switch {
	case err == nil:
		return fmt.Errorf("reading entity %q succeeded; it should fail with kind config", name)
	case !driver.IsConfig(err):
		return fmt.Errorf(`reading entity %q failed, but not with kind "config" (answer 404 or 422 with problem+json kind config): %w`, name, err)
	}
	return nil
}

func checkIncremental(ctx context.Context, d driver.Driver, cfg driver.Config, fx KitFixture, entity driver.Entity) error {
	if entity.Name == "" {
		return fmt.Errorf("skipped: entity %q was not discovered", fx.Entity)
	}
	if entity.Cursor == "" {
		return skipped(fmt.Sprintf("entity %s has no cursor, so every read is full", entity.Name))
	}
	full, err := drivertest.ReadAll(ctx, d, cfg, driver.ReadRequest{Entity: fx.Entity, Mode: driver.ReadFull, PageSize: fx.PageSize})
	if err != nil {
		return fmt.Errorf("full read: %w", err)
	}
	last := full.LastCheckpoint()
	if len(full.Checkpoints) == 0 {
		return errors.New("the full read emitted no checkpoint")
	}
	inc, err := drivertest.ReadAll(ctx, d, cfg, driver.ReadRequest{Entity: fx.Entity, Mode: driver.ReadIncremental, Cursor: last, PageSize: fx.PageSize})
	if err != nil {
		return fmt.Errorf("incremental read from %q: %w", last, err)
	}
	if n := len(inc.Records); n > 0 {
		keys := inc.Keys()
		sort.Strings(keys)
		if len(keys) > 5 {
			keys = append(keys[:5], "…")
		}
		return fmt.Errorf("an incremental read from the full read's last checkpoint %q returned %d of %d records (%s) though nothing changed: "+
			"it re-sends records that did not change after the cursor", last, n, len(full.Records), strings.Join(keys, ", "))
	}
	return nil
}

// PrintResults writes the kit's table and returns how many rows failed.
func PrintResults(w io.Writer, results []KitResult) int {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tCHECK\tDETAIL")
	failed := 0
	for _, r := range results {
		if r.Status == Fail {
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Status, r.Name, r.Detail)
	}
	_ = tw.Flush()
	if failed > 0 {
		fmt.Fprintf(w, "\n%d of %d checks failed\n", failed, len(results))
	} else {
		fmt.Fprintf(w, "\nall %d checks passed\n", len(results))
	}
	return failed
}
