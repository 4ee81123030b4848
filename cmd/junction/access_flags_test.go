package main

import (
	"reflect"
	"testing"

	"github.com/junction-hub/junction/internal/api"
	"github.com/junction-hub/junction/internal/auth"
)

func TestScopeFlag(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    api.Scope
		wantErr bool
	}{
		{"everyone", api.Scope{Mode: "everyone"}, false},
		{"", api.Scope{Mode: "everyone"}, false},
		{"users:1,2", api.Scope{Mode: "restricted", Users: []int64{1, 2}}, false},
		{"users:3;groups:4,5", api.Scope{Mode: "restricted", Users: []int64{3}, Groups: []int64{4, 5}}, false},
		{"groups:x", api.Scope{}, true},
		{"teams:1", api.Scope{}, true},
		{"users", api.Scope{}, true},
	} {
		got, err := parseScope(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseScope(%q): %v", tc.in, err)
			continue
		}
		if tc.wantErr {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseScope(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if back, _ := parseScope(scopeString(got)); !reflect.DeepEqual(back, got) {
			t.Errorf("scopeString(%+v) = %q does not read back", got, scopeString(got))
		}
	}
}

func TestGrantFlag(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    auth.Grant
		wantErr bool
	}{
		{"5:orders:read", auth.Grant{Connection: 5, Entity: "orders", Access: "read"}, false},
		{"5:*:write", auth.Grant{Connection: 5, Entity: "*", Access: "write"}, false},
		{"5:products:read:A-1,A-2", auth.Grant{Connection: 5, Entity: "products", Access: "read", Keys: []string{"A-1", "A-2"}}, false},
		{"flow:3:run", auth.Grant{Flow: 3, Access: "run"}, false},
		{"shop:orders:read", auth.Grant{}, true},
		{"5:orders", auth.Grant{}, true},
		{"flow:x:run", auth.Grant{}, true},
	} {
		got, err := parseGrant(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseGrant(%q): %v", tc.in, err)
			continue
		}
		if tc.wantErr {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseGrant(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if grantString(got) != tc.in {
			t.Errorf("grantString(%+v) = %q, want %q", got, grantString(got), tc.in)
		}
	}
}
