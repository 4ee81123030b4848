package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/store"
)

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	UserID     *int64    `json:"user_id,omitempty"`
	UserName   string    `json:"user_name,omitempty"`
	TokenID    *int64    `json:"token_id,omitempty" doc:"the token used; absent for the console"`
	Action     string    `json:"action"`
	ObjectKind string    `json:"object_kind"`
	ObjectID   *int64    `json:"object_id,omitempty"`
	ObjectName string    `json:"object_name,omitempty"`
	Detail     string    `json:"detail,omitempty"`
}

type auditInput struct {
	Kind   string `query:"kind" doc:"only entries about this kind of object (connection, token, member, group, flow, …)"`
	Object int64  `query:"object" doc:"only entries about this object id"`
	User   int64  `query:"user" doc:"only what this user did"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Before int64  `query:"before" doc:"the next value of the previous page"`
}

type auditOutput struct {
	Body struct {
		Entries []AuditEntry `json:"entries"`
		Next    string       `json:"next,omitempty"`
	}
}

func (h *handlers) registerAudit(a huma.API) {
	huma.Register(a, huma.Operation{OperationID: "list-audit", Method: http.MethodGet, Path: Prefix + "/audit",
		Tags: []string{"audit"}, Summary: "Who changed what and when in the workspace, newest first (owner or admin)"}, h.listAudit)
}

func (h *handlers) listAudit(ctx context.Context, in *auditInput) (*auditOutput, error) {
	if err := requireRole(ctx, auth.RoleAdmin); err != nil {
		return nil, err
	}
	list, err := h.Store.ListAudit(ctx, store.AuditFilter{WorkspaceID: identity(ctx).WorkspaceID,
		ObjectKind: in.Kind, ObjectID: in.Object, UserID: in.User, BeforeID: in.Before, Limit: in.Limit})
	if err != nil {
		return nil, h.problem(err)
	}
	out := &auditOutput{}
	out.Body.Entries = make([]AuditEntry, 0, len(list))
	for _, e := range list {
		out.Body.Entries = append(out.Body.Entries, AuditEntry{ID: e.ID, At: e.At, UserID: e.UserID, UserName: e.UserName,
			TokenID: e.TokenID, Action: e.Action, ObjectKind: e.ObjectKind, ObjectID: e.ObjectID, ObjectName: e.ObjectName, Detail: e.Detail})
	}
	if len(list) == in.Limit {
		out.Body.Next = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	return out, nil
}
