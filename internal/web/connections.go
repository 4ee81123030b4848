package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/junction-hub/junction/internal/auth"
	"github.com/junction-hub/junction/internal/connections"
	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/store"
)

// connectionRow is one line of the connections list.
type connectionRow struct {
	store.Connection
	DriverLabel string
	Deleting    bool // a purge job is pending or running
	Running     bool // a sync is pending or running
}

func (c *Console) connectionList(w http.ResponseWriter, r *http.Request, req *request) {
	v := req.id.Viewer()
	list, err := c.Store.ListVisibleConnections(req.ctx, v)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	labels := c.driverLabels(req)
	busy := map[int64]string{}
	for _, state := range []string{store.JobPending, store.JobRunning} {
		jobs, err := c.Store.ListJobs(req.ctx, store.JobFilter{WorkspaceID: req.id.WorkspaceID, State: state, Viewer: &v, Limit: 500})
		if err != nil {
			c.fail(w, r, req, err)
			return
		}
		for _, j := range jobs {
			if j.ConnectionID != nil && busy[*j.ConnectionID] != store.KindPurge {
				busy[*j.ConnectionID] = j.Kind
			}
		}
	}
	rows := make([]connectionRow, 0, len(list))
	for _, conn := range list {
		rows = append(rows, connectionRow{Connection: conn, DriverLabel: labels[conn.Driver],
			Deleting: busy[conn.ID] == store.KindPurge, Running: busy[conn.ID] == store.KindSync})
	}
	c.render(w, r, req, http.StatusOK, "connections", view{Title: "Connections", Nav: "connections", Data: rows})
}

// driverLabels maps driver names to their labels, built-in and registered.
func (c *Console) driverLabels(req *request) map[string]string {
	out := map[string]string{}
	specs, err := c.Connections.Drivers(req.ctx, req.id.WorkspaceID)
	if err != nil {
		c.Logger.Warn("console drivers", "err", err)
	}
	for _, s := range specs {
		out[s.Name] = s.Label
	}
	return out
}

// connectionBulk applies one action to every selected connection and reports each one.
func (c *Console) connectionBulk(w http.ResponseWriter, r *http.Request, req *request) {
	action := r.PostFormValue("action")
	ids := r.PostForm["id"]
	if len(ids) == 0 {
		redirect(w, r, "/connections", flash{"info", "Select one or more connections first."})
		return
	}
	verbs := map[string]string{"sync": "sync started", "enable": "enabled, sync started", "disable": "disabled", "delete": "deletion started"}
	if verbs[action] == "" {
		redirect(w, r, "/connections", flash{"error", "Unknown action."})
		return
	}
	if action != "sync" && !c.onlyAdmins(w, r, req) {
		return // members sync; changing connections is for admins, as in the API
	}
	ws := req.id.WorkspaceID
	var msgs []flash
	for _, raw := range ids {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			continue
		}
		conn, err := c.Store.GetVisibleConnection(req.ctx, req.id.Viewer(), id)
		if err != nil {
			msgs = append(msgs, flash{"error", fmt.Sprintf("Connection %d: %s", id, c.message(err))})
			continue
		}
		switch action {
		case "sync":
			var existing bool
			_, existing, err = c.Connections.Sync(req.ctx, ws, id, "auto")
			if err == nil && existing {
				msgs = append(msgs, flash{"ok", conn.Name + ": a sync is already under way"})
				continue
			}
		case "enable":
			_, _, err = c.Connections.Enable(req.ctx, ws, id)
		case "disable":
			_, err = c.Connections.Disable(req.ctx, ws, id)
		case "delete":
			_, err = c.Connections.Delete(req.ctx, ws, id)
		}
		if err != nil {
			msgs = append(msgs, flash{"error", conn.Name + ": " + c.message(err)})
			continue
		}
		msgs = append(msgs, flash{"ok", conn.Name + ": " + verbs[action]})
	}
	redirect(w, r, "/connections", msgs...)
}

// connectionForm is the data of the create and edit pages.
type connectionForm struct {
	Editing     bool
	ID          int64
	Name        string
	Description string
	Schedule    string
	Driver      string
	DriverLabel string
	Drivers     []driver.Spec
	Credentials []fieldView
	Settings    []fieldView
	Errors      map[string]string // name, description, schedule, scope
	Problem     string            // a failed check or what names no field
	Status      string
	Health      string
	HealthMsg   string
	// Scope, editable by admins.
	CanScope   bool
	Scope      store.Scope
	Members    []store.Member
	Groups     []store.Group
	ScopeUsers []int64
}

func (c *Console) specs(req *request) ([]driver.Spec, error) {
	return c.Connections.Drivers(req.ctx, req.id.WorkspaceID)
}

func findSpec(specs []driver.Spec, name string) (driver.Spec, bool) {
	for _, s := range specs {
		if s.Name == name {
			return s, true
		}
	}
	return driver.Spec{}, false
}

// withScopeChoices fills the users and groups an admin may pick for the scope.
func (c *Console) withScopeChoices(req *request, f *connectionForm) error {
	f.CanScope = req.id.Can(auth.RoleAdmin)
	if !f.CanScope {
		return nil
	}
	var err error
	if f.Members, err = c.Store.ListMembers(req.ctx, req.id.WorkspaceID); err != nil {
		return err
	}
	f.Groups, err = c.Store.ListGroups(req.ctx, req.id.WorkspaceID)
	return err
}

func (c *Console) connectionNew(w http.ResponseWriter, r *http.Request, req *request) {
	if !c.onlyAdmins(w, r, req) {
		return
	}
	specs, err := c.specs(req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	f := connectionForm{Drivers: specs, Driver: r.URL.Query().Get("driver"), Scope: store.Scope{Mode: store.ScopeEveryone}}
	if _, ok := findSpec(specs, f.Driver); !ok && len(specs) > 0 {
		f.Driver = specs[0].Name
	}
	c.showCreate(w, r, req, http.StatusOK, f, driver.Config{}, nil)
}

// showCreate renders the create form for f.Driver with the typed values (never secrets).
func (c *Console) showCreate(w http.ResponseWriter, r *http.Request, req *request, status int, f connectionForm, typed driver.Config, errs map[string]string) {
	spec, _ := findSpec(f.Drivers, f.Driver)
	f.DriverLabel = spec.Label
	f.Credentials = specFields("credentials", spec.Credentials, typed.Credentials, errs, nil)
	f.Settings = specFields("settings", spec.Settings, typed.Settings, errs, nil)
	if f.Errors == nil {
		f.Errors = errs
	}
	if err := c.withScopeChoices(req, &f); err != nil {
		c.fail(w, r, req, err)
		return
	}
	c.render(w, r, req, status, "connection_form", view{Title: "New connection", Nav: "connections", Data: f})
}

// connectionCreate checks the credentials and creates the connection with its first sync;
// on failure the form comes back with each message beside its field.
func (c *Console) connectionCreate(w http.ResponseWriter, r *http.Request, req *request) {
	if !c.onlyAdmins(w, r, req) {
		return
	}
	specs, err := c.specs(req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	f := connectionForm{Drivers: specs, Driver: r.PostFormValue("driver"), Name: strings.TrimSpace(r.PostFormValue("name")),
		Description: r.PostFormValue("description"), Schedule: strings.TrimSpace(r.PostFormValue("schedule"))}
	spec, ok := findSpec(specs, f.Driver)
	if !ok {
		f.Driver = ""
		if len(specs) > 0 {
			f.Driver = specs[0].Name
		}
		c.showCreate(w, r, req, http.StatusUnprocessableEntity, f, driver.Config{}, map[string]string{"driver": "choose a driver"})
		return
	}
	creds := formValues(r, "credentials", spec.Credentials, false)
	settings := formValues(r, "settings", spec.Settings, false)
	typed := driver.Config{Credentials: typedValues(creds, spec.Credentials), Settings: typedValues(settings, spec.Settings)}
	sc, scErr := readScope(r)
	f.Scope = sc
	if r.PostFormValue("step") == "driver" {
		// The driver changed: show its fields, keeping what was typed into the previous
		// driver's fields of the same name, but not that driver's defaults.
		if prev, ok := findSpec(specs, r.PostFormValue("shown_driver")); ok {
			typed = driver.Config{
				Credentials: typedValues(withoutDefaults(formValues(r, "credentials", prev.Credentials, false), prev.Credentials), spec.Credentials),
				Settings:    typedValues(withoutDefaults(formValues(r, "settings", prev.Settings, false), prev.Settings), spec.Settings),
			}
		}
		c.showCreate(w, r, req, http.StatusOK, f, typed, nil)
		return
	}
	in := connections.Input{Name: &f.Name, Driver: &f.Driver, Description: &f.Description, Schedule: &f.Schedule,
		Credentials: creds, Settings: settings}
	if req.id.Can(auth.RoleAdmin) {
		if scErr != nil {
			c.showCreate(w, r, req, http.StatusUnprocessableEntity, f, typed, map[string]string{"scope": scErr.Error()})
			return
		}
		in.Scope = &sc
	}
	conn, _, err := c.Connections.Create(req.ctx, req.id.WorkspaceID, in)
	if err != nil {
		errs, problem := c.formProblem(err, spec)
		f.Problem = problem
		c.showCreate(w, r, req, http.StatusUnprocessableEntity, f, typed, errs)
		return
	}
	redirect(w, r, "/connections", flash{"ok", fmt.Sprintf("Connection “%s” created. Sync triggered.", conn.Name)})
}

// formProblem spreads a service error over the form's fields; what fits no field (or a
// failed check naming none) comes back as the problem shown above the form.
func (c *Console) formProblem(err error, spec driver.Spec) (map[string]string, string) {
	var fe driver.FieldErrors
	var ce *connections.CheckError
	switch {
	case errors.As(err, &fe):
		known := map[string]bool{"name": true, "description": true, "schedule": true, "scope": true, "scope.mode": true, "scope.users": true, "driver": true}
		for _, f := range spec.Credentials {
			known["credentials."+f.Name] = true
		}
		for _, f := range spec.Settings {
			known["settings."+f.Name] = true
		}
		byField, other := fieldErrors(fe, func(name string) bool { return known[name] })
		if m, ok := byField["scope.mode"]; ok {
			byField["scope"] = m
		}
		if m, ok := byField["scope.users"]; ok {
			byField["scope"] = m
		}
		problem := "Please correct the fields marked below."
		if len(other) > 0 {
			problem = strings.Join(other, "; ")
		}
		return byField, problem
	case errors.As(err, &ce):
		return nil, "The credentials check failed: " + ce.Message
	}
	return nil, c.message(err)
}

// connectionEdit shows a connection's form: Credentials and Settings tabs, the driver
// read-only, secrets only as set or not set.
func (c *Console) connectionEdit(w http.ResponseWriter, r *http.Request, req *request) {
	conn, err := c.pathConnection(r, req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	f := connectionForm{Editing: true, ID: conn.ID, Name: conn.Name, Description: conn.Description, Schedule: conn.Schedule,
		Driver: conn.Driver, Scope: conn.Scope, Status: conn.Status, Health: conn.Health, HealthMsg: conn.HealthMessage}
	c.showEdit(w, r, req, http.StatusOK, f, conn, c.Connections.Masked(conn), nil)
}

func (c *Console) showEdit(w http.ResponseWriter, r *http.Request, req *request, status int, f connectionForm, conn store.Connection, shown driver.Config, errs map[string]string) {
	specs, err := c.specs(req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	spec, _ := findSpec(specs, conn.Driver)
	f.DriverLabel = spec.Label
	masked := c.Connections.Masked(conn)
	stored := map[string]bool{}
	for _, fl := range spec.Credentials {
		if v, ok := masked.Credentials[fl.Name]; ok && v != nil && v != "" {
			stored[fl.Name] = true
		}
	}
	for _, fl := range spec.Settings {
		if v, ok := masked.Settings[fl.Name]; ok && v != nil && v != "" {
			stored[fl.Name] = true
		}
	}
	f.Credentials = specFields("credentials", spec.Credentials, withoutSecrets(shown.Credentials, spec.Credentials), errs, stored)
	f.Settings = specFields("settings", spec.Settings, withoutSecrets(shown.Settings, spec.Settings), errs, stored)
	f.Errors = errs
	if err := c.withScopeChoices(req, &f); err != nil {
		c.fail(w, r, req, err)
		return
	}
	c.render(w, r, req, status, "connection_form", view{Title: conn.Name, Nav: "connections", Data: f})
}

// withoutSecrets drops secret fields (masked or not) from values to show.
func withoutSecrets(vals map[string]any, fields []driver.Field) map[string]any {
	out := map[string]any{}
	for k, v := range vals {
		out[k] = v
	}
	for _, f := range fields {
		if f.IsSecret() {
			delete(out, f.Name)
		}
	}
	return out
}

// connectionSave re-checks and saves an edited connection, which then syncs again.
func (c *Console) connectionSave(w http.ResponseWriter, r *http.Request, req *request) {
	conn, err := c.pathConnection(r, req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	if !c.onlyAdmins(w, r, req) {
		return
	}
	specs, err := c.specs(req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	spec, ok := findSpec(specs, conn.Driver)
	if !ok {
		c.fail(w, r, req, fmt.Errorf("connection %d: driver %s is not installed", conn.ID, conn.Driver))
		return
	}
	f := connectionForm{Editing: true, ID: conn.ID, Name: strings.TrimSpace(r.PostFormValue("name")),
		Description: r.PostFormValue("description"), Schedule: strings.TrimSpace(r.PostFormValue("schedule")),
		Driver: conn.Driver, Scope: conn.Scope, Status: conn.Status, Health: conn.Health, HealthMsg: conn.HealthMessage}
	creds := formValues(r, "credentials", spec.Credentials, true)
	settings := formValues(r, "settings", spec.Settings, true)
	in := connections.Input{Name: &f.Name, Description: &f.Description, Schedule: &f.Schedule, Credentials: creds, Settings: settings}
	typed := driver.Config{Credentials: typedValues(creds, spec.Credentials), Settings: typedValues(settings, spec.Settings)}
	if req.id.Can(auth.RoleAdmin) {
		sc, err := readScope(r)
		f.Scope = sc
		if err != nil {
			c.showEdit(w, r, req, http.StatusUnprocessableEntity, f, conn, typed, map[string]string{"scope": err.Error()})
			return
		}
		in.Scope = &sc
	}
	saved, job, err := c.Connections.Update(req.ctx, req.id.WorkspaceID, conn.ID, in)
	if err != nil {
		errs, problem := c.formProblem(err, spec)
		f.Problem = problem
		c.showEdit(w, r, req, http.StatusUnprocessableEntity, f, conn, typed, errs)
		return
	}
	msg := fmt.Sprintf("Connection “%s” saved.", saved.Name)
	if job != nil {
		msg += " Sync triggered."
	}
	redirect(w, r, "/connections", flash{"ok", msg})
}
