package web

import (
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/junction-hub/junction/internal/driver"
)

var testFields = []driver.Field{
	{Name: "host", Label: "Host", Type: driver.TypeText, Default: "127.0.0.1"},
	{Name: "port", Label: "Port", Type: driver.TypeInteger, Default: int64(5432)},
	{Name: "password", Label: "Password", Type: driver.TypePassword},
	{Name: "api_key", Label: "API key", Type: driver.TypeText, Secret: true, Required: true},
	{Name: "verbose", Type: driver.TypeBoolean},
	{Name: "mode", Type: driver.TypeSelect, Options: []string{"a", "b"}, Default: "a"},
}

func TestSpecFields(t *testing.T) {
	values := map[string]any{"host": "db.example", "password": "hunter22", "api_key": "k-123"}
	errs := map[string]string{"credentials.password": "password authentication failed"}
	for _, tc := range []struct {
		name   string
		stored map[string]bool
		check  func(t *testing.T, got map[string]fieldView)
	}{
		{"create", nil, func(t *testing.T, got map[string]fieldView) {
			if v := got["host"]; v.Value != "db.example" || v.Input != "text" || v.Name != "credentials.host" || v.ID != "f-credentials-host" {
				t.Errorf("host = %+v", v)
			}
			if v := got["port"]; v.Value != "5432" || v.Input != "number" || v.Step != "1" {
				t.Errorf("port = %+v (want the default)", v)
			}
			if v := got["password"]; v.Value != "" || v.Input != "password" || v.Error == "" {
				t.Errorf("password = %+v: a secret is never echoed; its error is beside it", v)
			}
			if v := got["api_key"]; v.Value != "" || v.Input != "password" || !v.Required {
				t.Errorf("api_key = %+v", v)
			}
			if v := got["verbose"]; !reflect.DeepEqual(v.Options, []string{"", "true", "false"}) {
				t.Errorf("optional boolean options = %q", v.Options)
			}
			if v := got["mode"]; !reflect.DeepEqual(v.Options, []string{"a", "b"}) || v.Value != "a" {
				t.Errorf("select with a default = %+v", v)
			}
		}},
		{"edit", map[string]bool{"api_key": true}, func(t *testing.T, got map[string]fieldView) {
			if v := got["api_key"]; !v.SecretSet || v.Required || v.Value != "" {
				t.Errorf("stored api_key = %+v: set, optional (empty keeps it), never shown", v)
			}
			if v := got["password"]; v.SecretSet {
				t.Errorf("unset password shown as set")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]fieldView{}
			for _, v := range specFields("credentials", testFields, values, errs, tc.stored) {
				got[strings.TrimPrefix(v.Name, "credentials.")] = v
			}
			tc.check(t, got)
		})
	}
}

func TestFormValues(t *testing.T) {
	form := url.Values{"c.host": {"  db.example "}, "c.port": {""}, "c.password": {" pass with spaces "}, "c.api_key": {""}, "c.mode": {"b"}}
	r := httptest.NewRequest("POST", "/", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if got, want := formValues(r, "c", testFields, false), map[string]any{"host": "db.example", "password": " pass with spaces ", "mode": "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("creating: %v, want %v (empty fields left to the defaults)", got, want)
	}
	if got, want := formValues(r, "c", testFields, true), map[string]any{"host": "db.example", "port": "", "password": " pass with spaces ", "verbose": "", "mode": "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("editing: %v, want %v (an empty secret keeps the stored one; other empty fields are cleared)", got, want)
	}
	if got := typedValues(formValues(r, "c", testFields, false), testFields); got["password"] != nil {
		t.Errorf("typed values to show again hold the password: %v", got)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/hub/3?tab=records": "/hub/3?tab=records", "": "/connections",
		"//evil.example/": "/connections", "https://evil.example": "/connections", `/\evil.example`: "/connections"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
