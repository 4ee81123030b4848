package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/driver"
)

// RecordWrite is a batch of records to write through a connection's driver.
type RecordWrite struct {
	Entity  string               `json:"entity" minLength:"1"`
	Records []driver.WriteRecord `json:"records" minItems:"1" maxItems:"1000"`
}

type writeRecordsInput struct {
	ID   int64 `path:"id"`
	Body RecordWrite
}

type writeRecordsOutput struct {
	Body struct {
		Results []driver.WriteResult `json:"results"`
	}
}

func (h *handlers) registerRecordWrites(a huma.API) {
	huma.Register(a, huma.Operation{OperationID: "write-records", Method: http.MethodPost,
		Path: Prefix + "/connections/{id}/records", Tags: []string{"connections"},
		Summary:     "Write records to the connected system through its driver, with a result per record",
		Description: "Ops create, upsert, update, delete. The mirror sees the change on the next sync. Integration tokens need a write grant on the entity (and, with keyed grants, on each record's key)."},
		h.writeRecords)
}

func (h *handlers) writeRecords(ctx context.Context, in *writeRecordsInput) (*writeRecordsOutput, error) {
	if !identity(ctx).Integration() {
		// People need to be admins to change the connected system directly.
		if err := h.adminOn(ctx, in.ID); err != nil {
			return nil, err
		}
	} else if _, err := h.connectionFor(ctx, in.ID); err != nil {
		return nil, h.problem(err)
	}
	keys, err := requireEntity(ctx, in.ID, in.Body.Entity, auth.AccessWrite)
	if err != nil {
		return nil, err
	}
	for i, r := range in.Body.Records {
		switch r.Op {
		case driver.OpCreate, driver.OpUpsert, driver.OpUpdate, driver.OpDelete:
		default:
			return nil, huma.Error422UnprocessableEntity("unknown op", &huma.ErrorDetail{
				Location: fmt.Sprintf("body.records[%d].op", i), Message: "must be create, upsert, update or delete"})
		}
		if keys != nil && !slices.Contains(keys, r.Key) {
			return nil, huma.Error403Forbidden(fmt.Sprintf("%s (record %q: the grant covers only some records)",
				auth.MissingEntity(in.ID, in.Body.Entity, auth.AccessWrite), r.Key))
		}
	}
	res, err := h.Connections.Write(ctx, identity(ctx).WorkspaceID, in.ID, in.Body.Entity, in.Body.Records)
	if err != nil {
		return nil, h.problem(err)
	}
	out := &writeRecordsOutput{}
	out.Body.Results = res
	return out, nil
}
