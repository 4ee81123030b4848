package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/driver"
)

type driverList struct {
	Body struct {
		Drivers []driver.Spec `json:"drivers"`
	}
}

func (h *handlers) registerDrivers(a huma.API) {
	huma.Register(a, huma.Operation{
		OperationID: "list-drivers", Method: http.MethodGet, Path: Prefix + "/drivers", Tags: []string{"drivers"},
		Summary: "List built-in drivers, then the workspace's registered connectors, with their specs",
	}, h.listDrivers)
}

func (h *handlers) listDrivers(ctx context.Context, _ *struct{}) (*driverList, error) {
	specs, err := h.Connections.Drivers(ctx, identity(ctx).WorkspaceID)
	if err != nil {
		return nil, h.problem(err)
	}
	out := &driverList{}
	out.Body.Drivers = append([]driver.Spec{}, specs...)
	return out, nil
}
