package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/junction-hub/junction/internal/connector"
	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/store"
)

// SpecTimeout bounds fetching a connector's spec when it is registered or refreshed.
const SpecTimeout = 30 * time.Second

// Connector is a registered remote connector as the API shows it: never its auth header.
type Connector struct {
	Name      string
	URL       string
	Spec      driver.Spec
	FetchedAt time.Time
	CreatedAt time.Time
}

// Revalidation is what a refresh found for one connection on the connector.
type Revalidation struct {
	ConnectionID int64               `json:"connection_id"`
	Name         string              `json:"name"`
	OK           bool                `json:"ok"`
	Message      string              `json:"message,omitempty"`
	FieldErrors  []driver.FieldError `json:"field_errors,omitempty"`
}

// driverFor finds a driver by name for the workspace: a built-in one first, else the
// workspace's registered connector, used through the same driver.Driver interface.
func (s *Service) driverFor(ctx context.Context, workspaceID int64, name string) (driver.Driver, error) {
	if name == "" {
		return nil, driver.FieldErrors{{Field: "driver", Message: "is required"}}
	}
	if d, ok := driver.Lookup(name); ok {
		return d, nil
	}
	c, err := s.store.GetConnector(ctx, workspaceID, name)
	if errors.Is(err, store.ErrNotFound) {
		names := driver.Names()
		if list, err := s.store.ListConnectors(ctx, workspaceID); err == nil {
			for _, c := range list {
				names = append(names, c.Name)
			}
		}
		return nil, driver.FieldErrors{{Field: "driver", Message: fmt.Sprintf("unknown driver %q; installed: %s", name, strings.Join(names, ", "))}}
	}
	if err != nil {
		return nil, err
	}
	return s.connectorClient(c)
}

// connectorClient turns a stored connector into a driver, with its stored spec.
func (s *Service) connectorClient(c store.Connector) (driver.Driver, error) {
	spec, err := connectorSpec(c)
	if err != nil {
		return nil, err
	}
	opts, err := s.connectorOptions(c)
	if err != nil {
		return nil, err
	}
	return connector.NewClient(c.URL, spec, opts).Driver(), nil
}

// connectorSpec is the stored spec under the registered name, so connections refer to it.
func connectorSpec(c store.Connector) (driver.Spec, error) {
	var spec driver.Spec
	if err := json.Unmarshal([]byte(c.Spec), &spec); err != nil {
		return spec, fmt.Errorf("connector %q spec: %w", c.Name, err)
	}
	spec.Name = c.Name
	return spec, nil
}

func (s *Service) connectorOptions(c store.Connector) (connector.Options, error) {
	auth, err := s.connectorAuth(c)
	if err != nil {
		return connector.Options{}, err
	}
	return authOptions(auth), nil
}

func (s *Service) connectorAuth(c store.Connector) (string, error) {
	if c.AuthSealed == "" {
		return "", nil
	}
	plain, err := s.keyring.Open(c.AuthSealed, sealContext(c.WorkspaceID))
	if err != nil {
		return "", fmt.Errorf("connector %q auth header: %w", c.Name, err)
	}
	return string(plain), nil
}

// authOptions sends the header value as given as Authorization on every call.
func authOptions(auth string) connector.Options {
	if auth == "" {
		return connector.Options{}
	}
	return connector.Options{HTTPClient: &http.Client{Transport: authTransport{value: auth, next: http.DefaultTransport}}}
}

type authTransport struct {
	value string
	next  http.RoundTripper
}

func (t authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", t.value)
	return t.next.RoundTrip(r)
}

// Drivers lists the built-in drivers' specs, then the workspace's connectors'.
func (s *Service) Drivers(ctx context.Context, workspaceID int64) ([]driver.Spec, error) {
	var out []driver.Spec
	for _, name := range driver.Names() {
		d, _ := driver.Lookup(name)
		out = append(out, d.Spec())
	}
	list, err := s.store.ListConnectors(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		spec, err := connectorSpec(c)
		if err != nil {
			return nil, err
		}
		out = append(out, spec)
	}
	return out, nil
}

// Connectors lists the workspace's registered connectors.
func (s *Service) Connectors(ctx context.Context, workspaceID int64) ([]Connector, error) {
	list, err := s.store.ListConnectors(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	out := make([]Connector, 0, len(list))
	for _, c := range list {
		v, err := connectorOf(c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func connectorOf(c store.Connector) (Connector, error) {
	spec, err := connectorSpec(c)
	if err != nil {
		return Connector{}, err
	}
	return Connector{Name: c.Name, URL: c.URL, Spec: spec, FetchedAt: c.FetchedAt, CreatedAt: c.CreatedAt}, nil
}

// RegisterConnector fetches the spec of the connector at rawURL and registers it under
// name, after which it is a driver of the workspace. auth, when set, is the Authorization
// header value sent on every call; it is stored sealed. On any failure nothing is stored.
func (s *Service) RegisterConnector(ctx context.Context, workspaceID int64, name, rawURL, auth string) (Connector, error) {
	var errs driver.FieldErrors
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		errs = append(errs, driver.FieldError{Field: "name", Message: "is required"})
	case len(name) > 100:
		errs = append(errs, driver.FieldError{Field: "name", Message: "must be at most 100 characters"})
	default:
		if _, ok := driver.Lookup(name); ok {
			errs = append(errs, driver.FieldError{Field: "name", Message: fmt.Sprintf("%q is a built-in driver; choose another name", name)})
		}
	}
	rawURL = strings.TrimSpace(rawURL)
	if u, err := url.Parse(rawURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, driver.FieldError{Field: "url", Message: "must be an absolute http:// or https:// URL"})
	}
	if len(errs) > 0 {
		return Connector{}, errs
	}
	if _, err := s.store.GetConnector(ctx, workspaceID, name); err == nil {
		return Connector{}, connectorNameTaken(name)
	}
	fetch, cancel := context.WithTimeout(ctx, SpecTimeout)
	defer cancel()
	spec, err := connector.FetchSpec(fetch, rawURL, authOptions(auth))
	if err != nil {
		msg := "fetching the spec failed: " + err.Error()
		if auth != "" {
			msg = strings.ReplaceAll(msg, auth, driver.Mask)
		}
		return Connector{}, driver.FieldErrors{{Field: "url", Message: msg}}
	}
	doc, err := json.Marshal(spec)
	if err != nil {
		return Connector{}, err
	}
	c := store.Connector{WorkspaceID: workspaceID, Name: name, URL: strings.TrimRight(rawURL, "/"), Spec: string(doc)}
	if auth != "" {
		if c.AuthSealed, err = s.keyring.Seal([]byte(auth), sealContext(workspaceID)); err != nil {
			return Connector{}, err
		}
	}
	if err := s.store.CreateConnector(ctx, &c); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Connector{}, connectorNameTaken(name)
		}
		return Connector{}, err
	}
	return connectorOf(c)
}

// RefreshConnector fetches the connector's spec again, stores it, and re-validates every
// connection on it against the new spec: one that no longer validates turns failing with
// the field errors as its health message.
func (s *Service) RefreshConnector(ctx context.Context, workspaceID int64, name string) (Connector, []Revalidation, error) {
	c, err := s.store.GetConnector(ctx, workspaceID, name)
	if err != nil {
		return Connector{}, nil, err
	}
	opts, err := s.connectorOptions(c)
	if err != nil {
		return Connector{}, nil, err
	}
	auth, _ := s.connectorAuth(c)
	fetch, cancel := context.WithTimeout(ctx, SpecTimeout)
	defer cancel()
	spec, err := connector.FetchSpec(fetch, c.URL, opts)
	if err != nil {
		msg := "fetching the spec failed: " + err.Error()
		if auth != "" {
			msg = strings.ReplaceAll(msg, auth, driver.Mask)
		}
		return Connector{}, nil, driver.FieldErrors{{Field: "url", Message: msg}}
	}
	doc, err := json.Marshal(spec)
	if err != nil {
		return Connector{}, nil, err
	}
	if c.FetchedAt, err = s.store.UpdateConnectorSpec(ctx, workspaceID, name, string(doc)); err != nil {
		return Connector{}, nil, err
	}
	c.Spec = string(doc)
	view, err := connectorOf(c)
	if err != nil {
		return Connector{}, nil, err
	}
	conns, err := s.store.ListConnections(ctx, workspaceID)
	if err != nil {
		return view, nil, err
	}
	results := []Revalidation{}
	for _, conn := range conns {
		if conn.Driver != name {
			continue
		}
		r := Revalidation{ConnectionID: conn.ID, Name: conn.Name, OK: true}
		cfg, err := s.Config(conn)
		if err == nil {
			_, err = view.Spec.Validate(cfg)
		}
		if err != nil {
			r.OK, r.Message = false, err.Error()
			var fe driver.FieldErrors
			if errors.As(err, &fe) {
				r.FieldErrors = fe
			}
			if err := s.store.SetHealth(ctx, conn.ID, store.HealthFailing, r.Message); err != nil {
				return view, results, err
			}
		}
		results = append(results, r)
	}
	return view, results, nil
}

// RemoveConnector unregisters a connector; while connections use it, store.ErrConflict.
func (s *Service) RemoveConnector(ctx context.Context, workspaceID int64, name string) error {
	return s.store.DeleteConnector(ctx, workspaceID, name)
}

func connectorNameTaken(name string) error {
	return driver.FieldErrors{{Field: "name", Message: fmt.Sprintf("%q is already the name of a registered connector", name)}}
}
