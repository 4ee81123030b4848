package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/auth"

	"github.com/junction-hub/junction/internal/connections"
	"github.com/junction-hub/junction/internal/driver"
)

// Connector is a registered remote connector. Its auth header is never shown.
type Connector struct {
	Name      string      `json:"name"`
	URL       string      `json:"url"`
	Spec      driver.Spec `json:"spec" doc:"the spec the connector last served, under the registered name"`
	FetchedAt time.Time   `json:"fetched_at"`
}

// ConnectorInput registers a connector.
type ConnectorInput struct {
	Name       string `json:"name" doc:"the driver name connections use; not a built-in driver's"`
	URL        string `json:"url" doc:"the connector's base URL, http:// or https://"`
	AuthHeader string `json:"auth_header,omitempty" doc:"Authorization header value sent on every call, e.g. 'Bearer T'; stored sealed, never shown"`
}

type connectorNameInput struct {
	Name string `path:"name"`
}

type connectorOutput struct {
	Status int
	Body   Connector
}

type connectorListOutput struct {
	Body struct {
		Connectors []Connector `json:"connectors"`
	}
}

type createConnectorInput struct{ Body ConnectorInput }

// ConnectorRefresh is a connector after its spec was fetched again, with what re-validating
// each of its connections against the new spec found.
type ConnectorRefresh struct {
	Connector
	Connections []connections.Revalidation `json:"connections" doc:"each connection on the connector, re-validated against the new spec"`
}

type refreshConnectorOutput struct{ Body ConnectorRefresh }

func (h *handlers) registerConnectors(a huma.API) {
	tags := []string{"connectors"}
	huma.Register(a, huma.Operation{OperationID: "list-connectors", Method: http.MethodGet, Path: Prefix + "/connectors",
		Tags: tags, Summary: "List registered remote connectors"}, h.listConnectors)
	huma.Register(a, huma.Operation{OperationID: "create-connector", Method: http.MethodPost, Path: Prefix + "/connectors",
		Tags: tags, Summary: "Register a remote connector by URL; its spec is fetched first", DefaultStatus: http.StatusCreated}, h.createConnector)
	huma.Register(a, huma.Operation{OperationID: "refresh-connector", Method: http.MethodPost, Path: Prefix + "/connectors/{name}/refresh",
		Tags: tags, Summary: "Fetch the connector's spec again and re-validate its connections"}, h.refreshConnector)
	huma.Register(a, huma.Operation{OperationID: "delete-connector", Method: http.MethodDelete, Path: Prefix + "/connectors/{name}",
		Tags: tags, Summary: "Unregister a connector; 409 while connections use it", DefaultStatus: http.StatusNoContent}, h.deleteConnector)
}

func connectorView(c connections.Connector) Connector {
	return Connector{Name: c.Name, URL: c.URL, Spec: c.Spec, FetchedAt: c.FetchedAt}
}

func (h *handlers) listConnectors(ctx context.Context, _ *struct{}) (*connectorListOutput, error) {
	list, err := h.Connections.Connectors(ctx, identity(ctx).WorkspaceID)
	if err != nil {
		return nil, h.problem(err)
	}
	out := &connectorListOutput{}
	out.Body.Connectors = make([]Connector, 0, len(list))
	for _, c := range list {
		out.Body.Connectors = append(out.Body.Connectors, connectorView(c))
	}
	return out, nil
}

func (h *handlers) createConnector(ctx context.Context, in *createConnectorInput) (*connectorOutput, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	c, err := h.Connections.RegisterConnector(ctx, identity(ctx).WorkspaceID, in.Body.Name, in.Body.URL, in.Body.AuthHeader)
	if err != nil {
		return nil, h.problem(err)
	}
	return &connectorOutput{Status: http.StatusCreated, Body: connectorView(c)}, nil
}

func (h *handlers) refreshConnector(ctx context.Context, in *connectorNameInput) (*refreshConnectorOutput, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	c, results, err := h.Connections.RefreshConnector(ctx, identity(ctx).WorkspaceID, in.Name)
	if err != nil {
		return nil, h.problem(err)
	}
	out := &refreshConnectorOutput{}
	out.Body.Connector = connectorView(c)
	out.Body.Connections = results
	return out, nil
}

func (h *handlers) deleteConnector(ctx context.Context, in *connectorNameInput) (*struct{}, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	if err := h.Connections.RemoveConnector(ctx, identity(ctx).WorkspaceID, in.Name); err != nil {
		return nil, h.problem(err)
	}
	return nil, nil
}
