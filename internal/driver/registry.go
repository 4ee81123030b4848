package driver

import (
	"fmt"
	"sort"
	"sync"
)

// The registry is the one piece of global state: built-in drivers add themselves from their
// package's init, as database/sql drivers do.
var (
	mu      sync.RWMutex
	drivers = map[string]Driver{}
)

// Register makes a driver available by its spec's name. It panics on a duplicate name or an
// invalid spec, which are programming errors.
func Register(d Driver) {
	spec := d.Spec()
	if err := spec.Valid(); err != nil {
		panic(fmt.Sprintf("driver.Register: %v", err))
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := drivers[spec.Name]; dup {
		panic("driver.Register: duplicate driver " + spec.Name)
	}
	drivers[spec.Name] = d
}

// Lookup returns the registered driver with the given name.
func Lookup(name string) (Driver, bool) {
	mu.RLock()
	defer mu.RUnlock()
	d, ok := drivers[name]
	return d, ok
}

// Names lists the registered drivers, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
