package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/store"
)

// CatalogChange is one dated difference between two discoveries of a connection's catalog.
type CatalogChange struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	JobID  *int64    `json:"job_id,omitempty" doc:"the sync that discovered it"`
	Kind   string    `json:"kind" enum:"entity_added,entity_removed,key_changed,cursor_changed,attribute_added,attribute_removed,attribute_changed,attribute_set_changed,value_list_added,value_list_removed,value_list_changed"`
	Entity string    `json:"entity,omitempty"`
	Name   string    `json:"name,omitempty" doc:"the attribute, attribute set or value list"`
	Detail string    `json:"detail,omitempty"`
}

type catalogChangesInput struct {
	ID     int64 `path:"id"`
	Limit  int   `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Before int64 `query:"before" doc:"the next value of the previous page"`
}

type catalogChangesOutput struct {
	Body struct {
		Changes []CatalogChange `json:"changes"`
		Next    string          `json:"next,omitempty"`
	}
}

func (h *handlers) registerCatalog(a huma.API) {
	huma.Register(a, huma.Operation{OperationID: "list-catalog-changes", Method: http.MethodGet,
		Path: Prefix + "/connections/{id}/catalog/changes", Tags: []string{"connections"},
		Summary: "What changed in the connection's catalog from one sync to the next, newest first"}, h.listCatalogChanges)
}

func (h *handlers) listCatalogChanges(ctx context.Context, in *catalogChangesInput) (*catalogChangesOutput, error) {
	ws := identity(ctx).WorkspaceID
	if _, err := h.connectionFor(ctx, in.ID); err != nil {
		return nil, h.problem(err)
	}
	list, err := h.Store.CatalogChanges(ctx, ws, in.ID, in.Before, in.Limit)
	if err != nil {
		return nil, h.problem(err)
	}
	out := &catalogChangesOutput{}
	out.Body.Changes = make([]CatalogChange, 0, len(list))
	for _, c := range list {
		out.Body.Changes = append(out.Body.Changes, catalogChangeOf(c))
	}
	if len(list) == in.Limit {
		out.Body.Next = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	return out, nil
}

func catalogChangeOf(c store.CatalogChange) CatalogChange {
	return CatalogChange{ID: c.ID, At: c.At, JobID: c.JobID, Kind: c.Kind, Entity: c.Entity, Name: c.Name, Detail: c.Detail}
}
