package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/connections"
	"github.com/junction-hub/junction/internal/driver"
)

type connectorsData struct {
	Connectors []connections.Connector
	CanEdit    bool
	Name       string
	URL        string
	Errors     map[string]string
	Problem    string
}

// connectorList is Settings → Connectors: the workspace's remote connectors, and for
// admins the form to register one.
func (c *Console) connectorList(w http.ResponseWriter, r *http.Request, req *request) {
	c.showConnectors(w, r, req, http.StatusOK, connectorsData{})
}

func (c *Console) showConnectors(w http.ResponseWriter, r *http.Request, req *request, status int, d connectorsData) {
	list, err := c.Connections.Connectors(req.ctx, req.id.WorkspaceID)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	d.Connectors, d.CanEdit = list, req.id.Can(auth.RoleAdmin)
	c.render(w, r, req, status, "connectors", view{Title: "Connectors · Settings", Nav: "settings", Data: d})
}

// onlyAdmins refuses changes to connections and connectors to members, as the API does.
func (c *Console) onlyAdmins(w http.ResponseWriter, r *http.Request, req *request) bool {
	if req.id.Can(auth.RoleAdmin) {
		return true
	}
	c.render(w, r, req, http.StatusForbidden, "error", view{Title: "Not allowed",
		Data: fmt.Sprintf("This needs the admin role or higher in the workspace; you are %s.", req.id.Role)})
	return false
}

// connectorRegister fetches the connector's spec and registers it; nothing is stored when
// that fails. The auth header is never shown again.
func (c *Console) connectorRegister(w http.ResponseWriter, r *http.Request, req *request) {
	if !c.onlyAdmins(w, r, req) {
		return
	}
	d := connectorsData{Name: strings.TrimSpace(r.PostFormValue("name")), URL: strings.TrimSpace(r.PostFormValue("url"))}
	con, err := c.Connections.RegisterConnector(req.ctx, req.id.WorkspaceID, d.Name, d.URL, r.PostFormValue("auth_header"))
	if err != nil {
		var fe driver.FieldErrors
		if errors.As(err, &fe) {
			var other []string
			d.Errors, other = fieldErrors(fe, func(f string) bool { return f == "name" || f == "url" || f == "auth_header" })
			d.Problem = strings.Join(other, "; ")
		} else {
			d.Problem = c.message(err)
		}
		c.showConnectors(w, r, req, http.StatusUnprocessableEntity, d)
		return
	}
	redirect(w, r, "/settings/connectors", flash{"ok", fmt.Sprintf("Connector “%s” registered with %d credential and %d settings fields; it is now in the driver list.",
		con.Name, len(con.Spec.Credentials), len(con.Spec.Settings))})
}

// connectorRefresh fetches the spec again and reports how each connection on it fared.
func (c *Console) connectorRefresh(w http.ResponseWriter, r *http.Request, req *request) {
	if !c.onlyAdmins(w, r, req) {
		return
	}
	name := r.PathValue("name")
	_, revs, err := c.Connections.RefreshConnector(req.ctx, req.id.WorkspaceID, name)
	if err != nil {
		redirect(w, r, "/settings/connectors", flash{"error", name + ": " + c.message(err)})
		return
	}
	msgs := []flash{{"ok", fmt.Sprintf("Connector “%s” refreshed.", name)}}
	for _, rv := range revs {
		if rv.OK {
			msgs = append(msgs, flash{"ok", rv.Name + ": still valid"})
			continue
		}
		text := rv.Message
		if len(rv.FieldErrors) > 0 {
			text = driver.FieldErrors(rv.FieldErrors).Error()
		}
		msgs = append(msgs, flash{"error", rv.Name + ": " + text})
	}
	redirect(w, r, "/settings/connectors", msgs...)
}

// connectorRemove unregisters a connector no connection uses.
func (c *Console) connectorRemove(w http.ResponseWriter, r *http.Request, req *request) {
	if !c.onlyAdmins(w, r, req) {
		return
	}
	name := r.PathValue("name")
	if err := c.Connections.RemoveConnector(req.ctx, req.id.WorkspaceID, name); err != nil {
		redirect(w, r, "/settings/connectors", flash{"error", name + ": " + c.message(err)})
		return
	}
	redirect(w, r, "/settings/connectors", flash{"ok", fmt.Sprintf("Connector “%s” removed.", name)})
}
