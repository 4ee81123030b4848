package auth

import (
	"reflect"
	"testing"
)

func TestGrants(t *testing.T) {
	gs := Grants{
		{Connection: 1, Entity: "orders", Access: AccessWrite},
		{Connection: 1, Entity: "products", Access: AccessRead, Keys: []string{"A", "B"}},
		{Connection: 2, Entity: "*", Access: AccessRead},
		{Flow: 9, Access: AccessRun},
	}
	for _, tc := range []struct {
		conn           int64
		entity, access string
		ok             bool
		keys           []string
	}{
		{1, "orders", AccessRead, true, nil}, // write includes read
		{1, "orders", AccessWrite, true, nil},
		{1, "products", AccessRead, true, []string{"A", "B"}},
		{1, "products", AccessWrite, false, nil}, // read only
		{1, "customers", AccessRead, false, nil},
		{2, "anything", AccessRead, true, nil}, // *
		{2, "anything", AccessWrite, false, nil},
		{3, "orders", AccessRead, false, nil},
	} {
		ok, keys := gs.Entity(tc.conn, tc.entity, tc.access)
		if ok != tc.ok || !reflect.DeepEqual(keys, tc.keys) {
			t.Errorf("Entity(%d, %s, %s) = %v %v, want %v %v", tc.conn, tc.entity, tc.access, ok, keys, tc.ok, tc.keys)
		}
	}
	if names, all := gs.Entities(1, AccessRead); all || !reflect.DeepEqual(names, []string{"orders", "products"}) {
		t.Errorf("Entities(1) = %v %v", names, all)
	}
	if _, all := gs.Entities(2, AccessRead); !all {
		t.Errorf("Entities(2) is not all")
	}
	if !gs.Flow(9, AccessRead) || !gs.Flow(9, AccessRun) || gs.Flow(8, AccessRead) {
		t.Errorf("Flow grants wrong")
	}
	if got := gs.Connections(); !reflect.DeepEqual(got, []int64{1, 2}) {
		t.Errorf("Connections() = %v", got)
	}
}

func TestGrantValidate(t *testing.T) {
	for _, tc := range []struct {
		g     Grant
		field string
	}{
		{Grant{Connection: 1, Entity: "orders", Access: "read"}, ""},
		{Grant{Flow: 2, Access: "run"}, ""},
		{Grant{Entity: "orders", Access: "read"}, "connection"},
		{Grant{Connection: 1, Access: "read"}, "entity"},
		{Grant{Connection: 1, Entity: "orders", Access: "run"}, "access"},
		{Grant{Flow: 2, Access: "write"}, "access"},
		{Grant{Flow: 2, Connection: 1, Access: "read"}, "flow"},
		{Grant{Flow: 2, Access: "read", Keys: []string{"x"}}, "keys"},
	} {
		if field, _ := tc.g.Validate(); field != tc.field {
			t.Errorf("Validate(%+v) names %q, want %q", tc.g, field, tc.field)
		}
	}
}
