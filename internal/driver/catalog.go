package driver

// Catalog is a connected system's data model, as Discover reports it.
type Catalog struct {
	Entities   []Entity    `json:"entities"`
	ValueLists []ValueList `json:"value_lists"`
}

// Entity is one type of record (a table, products, orders…).
type Entity struct {
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
	// Key names the attributes that make the remote key, in order.
	Key []string `json:"key"`
	// Cursor names the attribute incremental reads follow ("" when there is none, and
	// every sync reads the whole entity).
	Cursor        string         `json:"cursor,omitempty"`
	Attributes    []Attribute    `json:"attributes"`
	AttributeSets []AttributeSet `json:"attribute_sets,omitempty"`
}

// Attribute types drivers report.
const (
	AttrString   = "string"
	AttrInteger  = "integer"
	AttrNumber   = "number"
	AttrDecimal  = "decimal"
	AttrBoolean  = "boolean"
	AttrDate     = "date"
	AttrDateTime = "datetime"
	AttrJSON     = "json"
	AttrBinary   = "binary"
)

// Attribute is one field of an entity.
type Attribute struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	NativeType string `json:"native_type,omitempty"` // the system's own type name
	Required   bool   `json:"required,omitempty"`
	Key        bool   `json:"key,omitempty"`
	ValueList  string `json:"value_list,omitempty"` // name of a ValueList its values come from
	Reference  string `json:"reference,omitempty"`  // entity it refers to
}

// AttributeSet is a named group of attributes, as marketplaces have per category.
type AttributeSet struct {
	Name       string   `json:"name"`
	Label      string   `json:"label,omitempty"`
	Attributes []string `json:"attributes"`
}

// ValueList is a list of allowed values with the system's own ids (statuses, currencies…).
type ValueList struct {
	Name   string  `json:"name"`
	Label  string  `json:"label,omitempty"`
	Values []Value `json:"values"`
}

// Value is one entry of a ValueList.
type Value struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Entity returns the entity with the given name.
func (c *Catalog) Entity(name string) (Entity, bool) {
	for _, e := range c.Entities {
		if e.Name == name {
			return e, true
		}
	}
	return Entity{}, false
}

// Attribute returns the attribute with the given name.
func (e Entity) Attribute(name string) (Attribute, bool) {
	for _, a := range e.Attributes {
		if a.Name == name {
			return a, true
		}
	}
	return Attribute{}, false
}
