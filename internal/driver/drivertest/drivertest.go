// Package drivertest is the conformance suite every driver passes: each built-in driver
// runs it from go test (Exercise), and the connector test kit runs it against remote
// connectors (Run), so a driver is correct by one definition.
package drivertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/junction-hub/junction/internal/driver"
)

// Fixture is what the suite needs to know about one system under test.
type Fixture struct {
	Good driver.Config // credentials and settings that work
	Bad  driver.Config // well-formed but wrong credentials
	// Entity names an entity with a few records to read.
	Entity string
	// Mutate, when set, changes or adds some records of Entity after the first reads, so
	// the suite can check that an incremental read returns exactly those.
	Mutate func(ctx context.Context) error
	// WriteFields and WriteKey, when set and the spec says it can write, are upserted into
	// Entity and must read back equal.
	WriteFields map[string]any
	WriteKey    string
	// PageSize for the reads; 0 means 3, small enough that a few records span pages.
	PageSize int
}

// Names of the checks Run reports, for callers that treat some rows specially (the
// connector kit marks the bad-config row skipped when no bad credentials are given).
const (
	CheckSpecValid    = "spec is valid"
	CheckSecretFields = "secret-like fields are secret"
	CheckGood         = "check passes with good config"
	CheckBad          = "check fails with bad config"
	CheckDiscover     = "discover"
	CheckFullReads    = "full read is repeatable"
	CheckCancel       = "read honours cancellation"
	CheckIncremental  = "incremental read returns only changes"
	CheckWrite        = "write round-trips"
)

// Result is the outcome of one check.
type Result struct {
	Name   string
	OK     bool
	Detail string
}

// Exercise runs the suite and reports each failed check as a failed subtest of t.
func Exercise(t *testing.T, d driver.Driver, fx Fixture) {
	t.Helper()
	for _, r := range Run(t.Context(), d, fx) {
		t.Run(r.Name, func(t *testing.T) {
			if !r.OK {
				t.Error(r.Detail)
			}
		})
	}
}

// Run runs every check against d and returns their results in order. Checks that depend
// on an earlier one that failed are reported as failed too, saying so.
func Run(ctx context.Context, d driver.Driver, fx Fixture) []Result {
	s := &suite{d: d, fx: fx, spec: d.Spec()}
	if s.fx.PageSize == 0 {
		s.fx.PageSize = 3
	}
	s.check(CheckSpecValid, s.specValid)
	s.check(CheckSecretFields, s.secretFields)
	s.check(CheckGood, func() error { return s.checkGood(ctx) })
	s.check(CheckBad, func() error { return s.checkBad(ctx) })
	s.check(CheckDiscover, func() error { return s.discover(ctx) })
	s.check(CheckFullReads, func() error { return s.fullReads(ctx) })
	s.check(CheckCancel, func() error { return s.cancelled(ctx) })
	if fx.Mutate != nil {
		s.check(CheckIncremental, func() error { return s.incremental(ctx) })
	}
	if s.spec.Capabilities.Write && fx.WriteFields != nil {
		s.check(CheckWrite, func() error { return s.writeRoundTrip(ctx) })
	}
	return s.results
}

type suite struct {
	d       driver.Driver
	fx      Fixture
	spec    driver.Spec
	good    driver.Config // Good after spec validation (defaults filled in)
	goodOK  bool
	first   Read // the first full read
	results []Result
}

func (s *suite) check(name string, fn func() error) {
	r := Result{Name: name, OK: true}
	if err := fn(); err != nil {
		r.OK, r.Detail = false, err.Error()
	}
	s.results = append(s.results, r)
}

func (s *suite) specValid() error {
	if err := s.spec.Valid(); err != nil {
		return err
	}
	good, err := s.spec.Validate(s.fx.Good)
	if err != nil {
		return fmt.Errorf("fixture's Good config does not validate against the spec: %w", err)
	}
	s.good, s.goodOK = good, true
	return nil
}

func (s *suite) secretFields() error {
	var wrong []string
	for _, f := range append(append([]driver.Field{}, s.spec.Credentials...), s.spec.Settings...) {
		if LooksSecret(f.Name) && !f.IsSecret() {
			wrong = append(wrong, f.Name)
		}
	}
	if len(wrong) > 0 {
		return fmt.Errorf("fields %s look secret but are not declared secret", strings.Join(wrong, ", "))
	}
	return nil
}

// secretWords are the words that make a field name secret when they end it.
var secretWords = map[string]bool{
	"password": true, "passwd": true, "passphrase": true, "token": true, "secret": true,
	"key": true, "apikey": true,
}

// LooksSecret reports whether a field name reads like a secret: its last word (split at
// _, -, . and camelCase) is password, token, secret, key, apikey… So "api_key",
// "client_secret" and "accessToken" are, "key_column" and "tokenizer" are not.
func LooksSecret(name string) bool {
	words := strings.FieldsFunc(splitCamel(name), func(r rune) bool { return r == '_' || r == '-' || r == '.' || r == ' ' })
	return len(words) > 0 && secretWords[strings.ToLower(words[len(words)-1])]
}

func splitCamel(s string) string {
	var b strings.Builder
	prev := rune(0)
	for _, r := range s {
		if unicode.IsUpper(r) && unicode.IsLower(prev) {
			b.WriteRune('_')
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

func (s *suite) needGood() error {
	if !s.goodOK {
		return errors.New("skipped: the Good config does not validate")
	}
	return nil
}

func (s *suite) checkGood(ctx context.Context) error {
	if err := s.needGood(); err != nil {
		return err
	}
	return s.d.Check(ctx, s.good)
}

func (s *suite) checkBad(ctx context.Context) error {
	bad, err := s.spec.Validate(s.fx.Bad)
	if err != nil {
		return fmt.Errorf("fixture's Bad config must be well-formed so Check is reached: %w", err)
	}
	err = s.d.Check(ctx, bad)
	if err == nil {
		return errors.New("check accepted the bad config")
	}
	for _, secret := range s.spec.SecretValues(bad) {
		if strings.Contains(err.Error(), secret) {
			return errors.New("check's error message contains a secret value")
		}
	}
	return nil
}

func (s *suite) discover(ctx context.Context) error {
	if err := s.needGood(); err != nil {
		return err
	}
	cat, err := s.d.Discover(ctx, s.good)
	if err != nil {
		return err
	}
	lists := map[string]bool{}
	for _, l := range cat.ValueLists {
		lists[l.Name] = true
	}
	known := map[string]bool{
		driver.AttrString: true, driver.AttrInteger: true, driver.AttrNumber: true, driver.AttrDecimal: true,
		driver.AttrBoolean: true, driver.AttrDate: true, driver.AttrDateTime: true, driver.AttrJSON: true, driver.AttrBinary: true,
	}
	var problems []string
	names := map[string]bool{}
	for _, e := range cat.Entities {
		if e.Name == "" {
			problems = append(problems, "an entity has no name")
			continue
		}
		if names[e.Name] {
			problems = append(problems, "entity "+e.Name+" is reported twice")
		}
		names[e.Name] = true
		for _, k := range e.Key {
			if _, ok := e.Attribute(k); !ok {
				problems = append(problems, fmt.Sprintf("entity %s: key %s is not an attribute", e.Name, k))
			}
		}
		if e.Cursor != "" {
			if _, ok := e.Attribute(e.Cursor); !ok {
				problems = append(problems, fmt.Sprintf("entity %s: cursor %s is not an attribute", e.Name, e.Cursor))
			}
		}
		for _, a := range e.Attributes {
			if !known[a.Type] {
				problems = append(problems, fmt.Sprintf("entity %s: attribute %s has unknown type %q", e.Name, a.Name, a.Type))
			}
			if a.ValueList != "" && !lists[a.ValueList] {
				problems = append(problems, fmt.Sprintf("entity %s: attribute %s names missing value list %s", e.Name, a.Name, a.ValueList))
			}
		}
	}
	if !names[s.fx.Entity] {
		problems = append(problems, "the fixture's entity "+s.fx.Entity+" is not discovered")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func (s *suite) fullReads(ctx context.Context) error {
	if err := s.needGood(); err != nil {
		return err
	}
	req := driver.ReadRequest{Entity: s.fx.Entity, Mode: driver.ReadFull, PageSize: s.fx.PageSize}
	a, err := ReadAll(ctx, s.d, s.good, req)
	if err != nil {
		return fmt.Errorf("first read: %w", err)
	}
	if len(a.Records) == 0 {
		return fmt.Errorf("entity %s has no records; the fixture needs a few", s.fx.Entity)
	}
	if err := a.wellFormed(); err != nil {
		return fmt.Errorf("first read: %w", err)
	}
	b, err := ReadAll(ctx, s.d, s.good, req)
	if err != nil {
		return fmt.Errorf("second read: %w", err)
	}
	if diff := compare(a.ByKey(), b.ByKey()); diff != "" {
		return fmt.Errorf("two full reads differ: %s", diff)
	}
	s.first = a
	return nil
}

func (s *suite) cancelled(ctx context.Context) error {
	if err := s.needGood(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := ReadAll(ctx, s.d, s.good, driver.ReadRequest{Entity: s.fx.Entity, Mode: driver.ReadFull, PageSize: s.fx.PageSize})
	if err == nil {
		return errors.New("a read with a cancelled context succeeded")
	}
	return nil
}

func (s *suite) incremental(ctx context.Context) error {
	if s.first.Records == nil {
		return errors.New("skipped: the full read failed")
	}
	if s.first.LastCheckpoint() == "" {
		return errors.New("the full read emitted no checkpoint")
	}
	if err := s.fx.Mutate(ctx); err != nil {
		return fmt.Errorf("fixture's Mutate: %w", err)
	}
	inc, err := ReadAll(ctx, s.d, s.good, driver.ReadRequest{
		Entity: s.fx.Entity, Mode: driver.ReadIncremental, Cursor: s.first.LastCheckpoint(), PageSize: s.fx.PageSize})
	if err != nil {
		return fmt.Errorf("incremental read: %w", err)
	}
	after, err := ReadAll(ctx, s.d, s.good, driver.ReadRequest{Entity: s.fx.Entity, Mode: driver.ReadFull, PageSize: s.fx.PageSize})
	if err != nil {
		return fmt.Errorf("full read after Mutate: %w", err)
	}
	// What Mutate changed is what a full read now shows differently.
	before, now := s.first.ByKey(), after.ByKey()
	want := map[string]map[string]any{}
	for k, fields := range now {
		if old, ok := before[k]; !ok || !reflect.DeepEqual(old, fields) {
			want[k] = fields
		}
	}
	if len(want) == 0 {
		return errors.New("fixture's Mutate changed no record")
	}
	if diff := compare(want, inc.ByKey()); diff != "" {
		return fmt.Errorf("incremental read is not exactly the changed records: %s", diff)
	}
	return nil
}

func (s *suite) writeRoundTrip(ctx context.Context) error {
	if err := s.needGood(); err != nil {
		return err
	}
	w, ok := s.d.(driver.Writer)
	if !ok {
		return errors.New("spec says the driver can write but it does not implement driver.Writer")
	}
	results, err := w.Write(ctx, s.good, s.fx.Entity, []driver.WriteRecord{{Key: s.fx.WriteKey, Op: driver.OpUpsert, Fields: s.fx.WriteFields}})
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if len(results) != 1 {
		return fmt.Errorf("write returned %d results for 1 record", len(results))
	}
	if !results[0].OK {
		return fmt.Errorf("write refused the record: %s", results[0].Error)
	}
	all, err := ReadAll(ctx, s.d, s.good, driver.ReadRequest{Entity: s.fx.Entity, Mode: driver.ReadFull, PageSize: s.fx.PageSize})
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	got, ok := all.ByKey()[s.fx.WriteKey]
	if !ok {
		return fmt.Errorf("record %s is not there after the write", s.fx.WriteKey)
	}
	var diffs []string
	for name, want := range s.fx.WriteFields {
		if !sameJSON(want, got[name]) {
			diffs = append(diffs, fmt.Sprintf("%s: wrote %s, read %s", name, jsonText(want), jsonText(got[name])))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}

// compare describes how two key→fields maps differ ("" when they are equal), naming at
// most a few keys.
func compare(want, got map[string]map[string]any) string {
	var missing, extra, changed []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case !sameJSON(w, g):
			changed = append(changed, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	var parts []string
	for _, p := range []struct {
		label string
		keys  []string
	}{{"missing", missing}, {"unexpected", extra}, {"different fields", changed}} {
		if len(p.keys) > 0 {
			sort.Strings(p.keys)
			if len(p.keys) > 5 {
				p.keys = append(p.keys[:5], "…")
			}
			parts = append(parts, fmt.Sprintf("%s %d (%s)", p.label, len(p.keys), strings.Join(p.keys, ", ")))
		}
	}
	return strings.Join(parts, "; ")
}

// sameJSON compares values as JSON, so 5, int64(5) and 5.0 are the same.
func sameJSON(a, b any) bool { return jsonText(a) == jsonText(b) }

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	var norm any
	_ = json.Unmarshal(b, &norm)
	b, _ = json.Marshal(norm)
	return string(b)
}
