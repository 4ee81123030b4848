package auth

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Grant access levels. Write includes read; run (for flows) includes read.
const (
	AccessRead  = "read"
	AccessWrite = "write"
	AccessRun   = "run"
)

// Grant is one thing an integration token may reach: either entities of a connection
// (Entity "*" for all of them, Keys for only some records) or a flow.
type Grant struct {
	Connection int64    `json:"connection,omitempty" doc:"connection id (with entity)"`
	Entity     string   `json:"entity,omitempty" doc:"entity name, or * for every entity of the connection"`
	Keys       []string `json:"keys,omitempty" doc:"only these records (remote keys); absent: all records of the entity"`
	Flow       int64    `json:"flow,omitempty" doc:"flow id (instead of connection and entity)"`
	Access     string   `json:"access" enum:"read,write,run" doc:"read; write (includes read) for entities; run (includes read) for flows"`
}

// Grants are an integration token's grants. A personal token has none and is limited by
// its user's role and connection scopes instead.
type Grants []Grant

// ParseGrants reads grants as stored with a token.
func ParseGrants(s string) (Grants, error) {
	if s == "" {
		return Grants{}, nil
	}
	var g Grants
	if err := json.Unmarshal([]byte(s), &g); err != nil {
		return nil, fmt.Errorf("token grants: %w", err)
	}
	return g, nil
}

// Validate says what is wrong with grant i, naming its field; "" when nothing is.
func (g Grant) Validate() (field, msg string) {
	switch {
	case g.Flow != 0 && (g.Connection != 0 || g.Entity != ""):
		return "flow", "a grant names either a flow or a connection's entity, not both"
	case g.Flow != 0:
		if g.Access != AccessRead && g.Access != AccessRun {
			return "access", "a flow grant is read or run"
		}
		if len(g.Keys) > 0 {
			return "keys", "a flow grant has no keys"
		}
	case g.Connection == 0:
		return "connection", "required: the connection whose entity is granted (or a flow)"
	case g.Entity == "":
		return "entity", "required: an entity name, or * for all"
	case g.Access != AccessRead && g.Access != AccessWrite:
		return "access", "an entity grant is read or write"
	}
	return "", ""
}

func covers(have, need string) bool {
	return have == need || (need == AccessRead && (have == AccessWrite || have == AccessRun))
}

// Connections are the ids of the connections the grants name.
func (gs Grants) Connections() []int64 {
	var out []int64
	for _, g := range gs {
		if g.Connection != 0 && !slices.Contains(out, g.Connection) {
			out = append(out, g.Connection)
		}
	}
	return out
}

// HasConnection says whether any grant names the connection.
func (gs Grants) HasConnection(conn int64) bool { return slices.Contains(gs.Connections(), conn) }

// Entity says whether access to the entity of the connection is granted, and for which
// records: keys nil means all of them.
func (gs Grants) Entity(conn int64, entity, access string) (ok bool, keys []string) {
	for _, g := range gs {
		if g.Connection != conn || (g.Entity != entity && g.Entity != "*") || !covers(g.Access, access) {
			continue
		}
		if len(g.Keys) == 0 {
			return true, nil
		}
		ok = true
		keys = append(keys, g.Keys...)
	}
	return ok, keys
}

// Entities are the entities of the connection granted for access; all is true when "*" is.
func (gs Grants) Entities(conn int64, access string) (names []string, all bool) {
	for _, g := range gs {
		if g.Connection != conn || !covers(g.Access, access) {
			continue
		}
		if g.Entity == "*" {
			return nil, true
		}
		if !slices.Contains(names, g.Entity) {
			names = append(names, g.Entity)
		}
	}
	return names, false
}

// Flow says whether access to the flow is granted.
func (gs Grants) Flow(flow int64, access string) bool {
	for _, g := range gs {
		if g.Flow == flow && covers(g.Access, access) {
			return true
		}
	}
	return false
}

// MissingEntity is the 403 message for a request the grants do not cover.
func MissingEntity(conn int64, entity, access string) string {
	return fmt.Sprintf("this integration token lacks the grant %s on entity %q of connection %d", access, entity, conn)
}

// MissingFlow is the 403 message for a flow request the grants do not cover.
func MissingFlow(flow int64, access string) string {
	return fmt.Sprintf("this integration token lacks the grant %s on flow %d", access, flow)
}
