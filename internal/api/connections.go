package api

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

type connectionIDInput struct {
	ID int64 `path:"id" doc:"connection id"`
}

type connectionOutput struct{ Body Connection }

type connectionListOutput struct {
	Body struct {
		Connections []Connection `json:"connections"`
	}
}

type createConnectionInput struct{ Body ConnectionInput }

type connectionJobOutput struct {
	Status int
	Body   ConnectionWithJob
}

type patchConnectionInput struct {
	ID   int64 `path:"id"`
	Body ConnectionInput
}

type checkInput struct {
	ID   int64 `path:"id"`
	Body *CheckInput
}

type checkOutput struct{ Body CheckResult }

type syncInput struct {
	ID   int64  `path:"id"`
	Mode string `query:"mode" enum:"auto,full,incremental" default:"auto" doc:"full reads everything; incremental from the saved cursor"`
}

type jobRefOutput struct {
	Status int
	Body   JobRef
}

type bulkInput struct{ Body BulkInput }

type bulkOutput struct {
	Body struct {
		Results []BulkResult `json:"results"`
	}
}

type catalogOutput struct{ Body Catalog }

type recordsInput struct {
	ID     int64  `path:"id"`
	Entity string `query:"entity"`
	State  string `query:"state" enum:"live,gone,"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After  string `query:"after" doc:"the next value of the previous page"`
}

type recordsOutput struct{ Body RecordPage }

func (h *handlers) registerConnections(a huma.API) {
	tags := []string{"connections"}
	huma.Register(a, huma.Operation{OperationID: "list-connections", Method: http.MethodGet,
		Path: Prefix + "/connections", Tags: tags, Summary: "List connections"}, h.listConnections)
	huma.Register(a, huma.Operation{OperationID: "create-connection", Method: http.MethodPost,
		Path: Prefix + "/connections", Tags: tags, DefaultStatus: http.StatusCreated,
		Summary:     "Create a connection",
		Description: "Credentials are checked first: 422 with the failing fields and nothing stored, or 201 with the initial sync's job id."},
		h.createConnection)
	huma.Register(a, huma.Operation{OperationID: "bulk-connections", Method: http.MethodPost,
		Path: Prefix + "/connections/bulk", Tags: tags, Summary: "Apply sync, enable, disable or delete to several connections"},
		h.bulkConnections)
	huma.Register(a, huma.Operation{OperationID: "get-connection", Method: http.MethodGet,
		Path: Prefix + "/connections/{id}", Tags: tags, Summary: "Show a connection (secrets masked)"}, h.getConnection)
	huma.Register(a, huma.Operation{OperationID: "update-connection", Method: http.MethodPatch,
		Path: Prefix + "/connections/{id}", Tags: tags, Summary: "Edit a connection",
		Description: "Changed credentials or settings are checked, then the connection syncs again. A changed schedule counts from now. The driver cannot change."},
		h.updateConnection)
	huma.Register(a, huma.Operation{OperationID: "delete-connection", Method: http.MethodDelete,
		Path: Prefix + "/connections/{id}", Tags: tags, DefaultStatus: http.StatusAccepted,
		Summary: "Delete an inactive connection through a purge job (409 while active)"}, h.deleteConnection)
	huma.Register(a, huma.Operation{OperationID: "check-connection", Method: http.MethodPost,
		Path: Prefix + "/connections/{id}/check", Tags: tags, Summary: "Check stored or given credentials"}, h.checkConnection)
	huma.Register(a, huma.Operation{OperationID: "sync-connection", Method: http.MethodPost,
		Path: Prefix + "/connections/{id}/sync", Tags: tags, DefaultStatus: http.StatusAccepted,
		Summary: "Start a sync (or get the one already running)"}, h.syncConnection)
	huma.Register(a, huma.Operation{OperationID: "enable-connection", Method: http.MethodPost,
		Path: Prefix + "/connections/{id}/enable", Tags: tags, DefaultStatus: http.StatusAccepted,
		Summary: "Enable a connection and start a sync"}, h.enableConnection)
	huma.Register(a, huma.Operation{OperationID: "disable-connection", Method: http.MethodPost,
		Path: Prefix + "/connections/{id}/disable", Tags: tags, DefaultStatus: http.StatusAccepted,
		Summary: "Disable a connection and stop its syncs"}, h.disableConnection)
	huma.Register(a, huma.Operation{OperationID: "get-catalog", Method: http.MethodGet,
		Path: Prefix + "/connections/{id}/catalog", Tags: tags, Summary: "The connection's mirrored data model"}, h.getCatalog)
	huma.Register(a, huma.Operation{OperationID: "list-records", Method: http.MethodGet,
		Path: Prefix + "/connections/{id}/records", Tags: tags, Summary: "Mirrored records, in pages"}, h.listRecords)
}
