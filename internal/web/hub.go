package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/junction-hub/junction/internal/driver"
	"github.com/junction-hub/junction/internal/store"
)

// recordsPerPage is how many records the data hub shows at once.
const recordsPerPage = 50

type hubRow struct {
	store.Connection
	Live int64
	Gone int64
}

// hubList shows the connections whose mirrors the user may open.
func (c *Console) hubList(w http.ResponseWriter, r *http.Request, req *request) {
	list, err := c.Store.ListVisibleConnections(req.ctx, req.id.Viewer())
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	rows := make([]hubRow, 0, len(list))
	for _, conn := range list {
		row := hubRow{Connection: conn}
		if row.Live, err = c.Store.CountRecords(req.ctx, conn.ID, "", store.RecordLive); err != nil {
			c.fail(w, r, req, err)
			return
		}
		if row.Gone, err = c.Store.CountRecords(req.ctx, conn.ID, "", store.RecordGone); err != nil {
			c.fail(w, r, req, err)
			return
		}
		rows = append(rows, row)
	}
	c.render(w, r, req, http.StatusOK, "hub", view{Title: "Data hub", Nav: "hub", Data: rows})
}

type hubData struct {
	Conn         store.Connection
	Tab          string // catalog, records, changes
	Catalog      *driver.Catalog
	DiscoveredAt time.Time
	// Records tab.
	Entity  string
	Query   string
	State   string
	Records []store.Record
	Next    string // the query string of the next page, "" on the last
	First   bool
	// Changes tab.
	Changes []store.CatalogChange
}

// pathConnection is the connection the path's {id} names, if the user may see it;
// store.ErrNotFound otherwise, so out-of-scope connections look like none at all.
func (c *Console) pathConnection(r *http.Request, req *request) (store.Connection, error) {
	id, ok := pathID(r)
	if !ok {
		return store.Connection{}, store.ErrNotFound
	}
	return c.Store.GetVisibleConnection(req.ctx, req.id.Viewer(), id)
}

// hubShow is one connection's mirror: its catalog, its records (paged, searchable by key
// or field) and the history of its catalog's changes.
func (c *Console) hubShow(w http.ResponseWriter, r *http.Request, req *request) {
	conn, err := c.pathConnection(r, req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	q := r.URL.Query()
	d := hubData{Conn: conn, Tab: q.Get("tab")}
	if d.Tab != "records" && d.Tab != "changes" {
		d.Tab = "catalog"
	}
	doc, at, err := c.Store.GetCatalog(req.ctx, req.id.WorkspaceID, conn.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		c.fail(w, r, req, err)
		return
	default:
		var cat driver.Catalog
		if err := json.Unmarshal(doc, &cat); err != nil {
			c.fail(w, r, req, fmt.Errorf("catalog of connection %d: %w", conn.ID, err))
			return
		}
		d.Catalog, d.DiscoveredAt = &cat, at
	}
	switch d.Tab {
	case "records":
		d.Entity, d.Query, d.State = q.Get("entity"), q.Get("q"), q.Get("state")
		if d.State != store.RecordLive && d.State != store.RecordGone {
			d.State = ""
		}
		f := store.RecordFilter{WorkspaceID: req.id.WorkspaceID, ConnectionID: conn.ID, Entity: d.Entity, State: d.State, Search: d.Query, Limit: recordsPerPage}
		d.First = q.Get("after") == ""
		if !d.First {
			var pos [2]string
			raw, err := base64.RawURLEncoding.DecodeString(q.Get("after"))
			if err == nil && json.Unmarshal(raw, &pos) == nil {
				f.AfterEntity, f.AfterKey = pos[0], pos[1]
			}
		}
		if d.Records, err = c.Store.ListRecords(req.ctx, f); err != nil {
			c.fail(w, r, req, err)
			return
		}
		if len(d.Records) == recordsPerPage {
			last := d.Records[len(d.Records)-1]
			raw, _ := json.Marshal([2]string{last.Entity, last.Key})
			next := url.Values{"tab": {"records"}, "entity": {d.Entity}, "q": {d.Query}, "state": {d.State},
				"after": {base64.RawURLEncoding.EncodeToString(raw)}}
			d.Next = next.Encode()
		}
	case "changes":
		before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
		if d.Changes, err = c.Store.CatalogChanges(req.ctx, req.id.WorkspaceID, conn.ID, before, 200); err != nil {
			c.fail(w, r, req, err)
			return
		}
	}
	c.render(w, r, req, http.StatusOK, "hub_connection", view{Title: conn.Name + " · Data hub", Nav: "hub", Data: d})
}

type recordField struct {
	Name  string
	Value string
}

type recordData struct {
	Conn   store.Connection
	Record store.Record
	Fields []recordField
}

// hubRecord shows one mirrored record with every field, its hash and its history dates.
func (c *Console) hubRecord(w http.ResponseWriter, r *http.Request, req *request) {
	conn, err := c.pathConnection(r, req)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	q := r.URL.Query()
	rec, err := c.Store.GetRecord(req.ctx, req.id.WorkspaceID, conn.ID, q.Get("entity"), q.Get("key"))
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(rec.Fields), &fields); err != nil {
		c.fail(w, r, req, fmt.Errorf("record %s/%s: %w", rec.Entity, rec.Key, err))
		return
	}
	d := recordData{Conn: conn, Record: rec}
	for name, raw := range fields {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			var buf bytes.Buffer
			if json.Indent(&buf, raw, "", "  ") == nil {
				s = buf.String()
			} else {
				s = string(raw)
			}
		}
		d.Fields = append(d.Fields, recordField{Name: name, Value: s})
	}
	sort.Slice(d.Fields, func(i, j int) bool { return d.Fields[i].Name < d.Fields[j].Name })
	c.render(w, r, req, http.StatusOK, "hub_record", view{Title: rec.Entity + " " + rec.Key, Nav: "hub", Data: d})
}
