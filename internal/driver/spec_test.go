package driver

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var testSpec = Spec{
	Name: "test",
	Credentials: []Field{
		{Name: "host", Type: TypeText, Default: "127.0.0.1"},
		{Name: "port", Type: TypeInteger, Default: int64(5432)},
		{Name: "user", Type: TypeText, Required: true},
		{Name: "password", Type: TypePassword},
		{Name: "url", Type: TypeURL},
		{Name: "email", Type: TypeEmail},
	},
	Settings: []Field{
		{Name: "mode", Type: TypeSelect, Options: []string{"fast", "safe"}, Default: "safe"},
		{Name: "ratio", Type: TypeNumber},
		{Name: "dry", Type: TypeBoolean},
		{Name: "every", Type: TypeDuration},
		{Name: "token", Type: TypeText, Secret: true},
	},
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		creds   Values
		sets    Values
		want    Config
		wantErr string // the fields named, comma-separated
	}{
		{
			name:  "defaults and conversions",
			creds: Values{"user": "u", "port": "6543"},
			sets:  Values{"ratio": "0.5", "dry": "true", "every": "15m"},
			want: Config{
				Credentials: Values{"host": "127.0.0.1", "port": int64(6543), "user": "u"},
				Settings:    Values{"mode": "safe", "ratio": 0.5, "dry": true, "every": "15m"},
			},
		},
		{name: "json numbers", creds: Values{"user": "u", "port": float64(1)}, sets: Values{"ratio": float64(2)},
			want: Config{Credentials: Values{"host": "127.0.0.1", "port": int64(1), "user": "u"}, Settings: Values{"mode": "safe", "ratio": 2.0}}},
		{name: "required missing", creds: Values{}, wantErr: "credentials.user"},
		{name: "empty counts as missing", creds: Values{"user": ""}, wantErr: "credentials.user"},
		{name: "bad integer", creds: Values{"user": "u", "port": "x"}, wantErr: "credentials.port"},
		{name: "fractional integer", creds: Values{"user": "u", "port": 1.5}, wantErr: "credentials.port"},
		{name: "bad option", creds: Values{"user": "u"}, sets: Values{"mode": "wild"}, wantErr: "settings.mode"},
		{name: "bad url", creds: Values{"user": "u", "url": "not a url"}, wantErr: "credentials.url"},
		{name: "bad email", creds: Values{"user": "u", "email": "nobody"}, wantErr: "credentials.email"},
		{name: "bad duration", creds: Values{"user": "u"}, sets: Values{"every": "soon"}, wantErr: "settings.every"},
		{name: "bad boolean", creds: Values{"user": "u"}, sets: Values{"dry": "perhaps"}, wantErr: "settings.dry"},
		{name: "unknown fields", creds: Values{"user": "u", "colour": "red"}, sets: Values{"size": 1}, wantErr: "credentials.colour,settings.size"},
		{name: "several at once", creds: Values{"port": "x"}, wantErr: "credentials.port,credentials.user"},
		{name: "text must be text", creds: Values{"user": 5}, wantErr: "credentials.user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := testSpec.Validate(Config{Credentials: tt.creds, Settings: tt.sets})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Validate = %#v\nwant %#v", got, tt.want)
				}
				return
			}
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want FieldErrors", err)
			}
			var names []string
			for _, e := range fe {
				names = append(names, e.Field)
			}
			if !sameSet(names, strings.Split(tt.wantErr, ",")) {
				t.Fatalf("fields = %v, want %s", names, tt.wantErr)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestMaskedAndSecretValues(t *testing.T) {
	cfg := Config{Credentials: Values{"user": "u", "password": "hunter2"}, Settings: Values{"token": "tok-123", "mode": "fast"}}
	m := testSpec.Masked(cfg)
	if m.Credentials["password"] != Mask || m.Settings["token"] != Mask || m.Credentials["user"] != "u" || m.Settings["mode"] != "fast" {
		t.Fatalf("Masked = %+v", m)
	}
	if cfg.Credentials["password"] != "hunter2" {
		t.Fatal("Masked changed its input")
	}
	if got := testSpec.SecretValues(cfg); !sameSet(got, []string{"hunter2", "tok-123"}) {
		t.Fatalf("SecretValues = %v", got)
	}
	if err := (Spec{Name: "x", Settings: []Field{{Name: "a", Type: "colour"}}}).Valid(); err == nil {
		t.Fatal("a spec with an unknown field type is valid")
	}
	if err := (Spec{Name: "x", Settings: []Field{{Name: "a", Type: TypeSelect}}}).Valid(); err == nil {
		t.Fatal("a select without options is valid")
	}
}
