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
		Summary: "List installed drivers with their specs",
	}, h.listDrivers)
}

func (h *handlers) listDrivers(ctx context.Context, _ *struct{}) (*driverList, error) {
	out := &driverList{}
	out.Body.Drivers = []driver.Spec{}
	for _, name := range driver.Names() {
		d, _ := driver.Lookup(name)
		out.Body.Drivers = append(out.Body.Drivers, d.Spec())
	}
	return out, nil
}
