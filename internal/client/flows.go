package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/junction-hub/junction/internal/api"
	"github.com/junction-hub/junction/internal/flow"
)

// Flows lists the workspace's flows.
func (c *Client) Flows(ctx context.Context) ([]api.Flow, error) {
	var out struct {
		Flows []api.Flow `json:"flows"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/flows", nil, nil, &out)
	return out.Flows, err
}

// Flow returns one flow with its mapping.
func (c *Client) Flow(ctx context.Context, id int64) (api.Flow, error) {
	var out api.Flow
	err := c.do(ctx, http.MethodGet, idPath("/api/v1/flows/%d", id), nil, nil, &out)
	return out, err
}

// CreateFlow stores a flow; a bad mapping is a 422 naming each wrong field.
func (c *Client) CreateFlow(ctx context.Context, def flow.Definition) (api.Flow, error) {
	var out api.Flow
	err := c.do(ctx, http.MethodPost, "/api/v1/flows", nil, def, &out)
	return out, err
}

// UpdateFlow replaces a flow's definition.
func (c *Client) UpdateFlow(ctx context.Context, id int64, def flow.Definition) (api.Flow, error) {
	var out api.Flow
	err := c.do(ctx, http.MethodPut, idPath("/api/v1/flows/%d", id), nil, def, &out)
	return out, err
}

// DeleteFlow removes a flow with its links and failed records.
func (c *Client) DeleteFlow(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath("/api/v1/flows/%d", id), nil, nil, nil)
}

// RunFlow starts a run: of the given source keys, or (none given) of every changed record.
func (c *Client) RunFlow(ctx context.Context, id int64, keys []string) (api.JobRef, error) {
	var out api.JobRef
	err := c.do(ctx, http.MethodPost, idPath("/api/v1/flows/%d/run", id), nil, api.FlowKeys{Keys: keys}, &out)
	return out, err
}

// DryRunFlow previews a run of up to limit records (or of the given keys) without writing.
func (c *Client) DryRunFlow(ctx context.Context, id int64, keys []string, limit int) (api.DryRun, error) {
	var out api.DryRun
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	err := c.do(ctx, http.MethodPost, idPath("/api/v1/flows/%d/dry-run", id), q, api.FlowKeys{Keys: keys}, &out)
	return out, err
}

// FlowFailures lists a flow's failed records with their reasons.
func (c *Client) FlowFailures(ctx context.Context, id int64, after string, limit int) (api.FlowFailures, error) {
	var out api.FlowFailures
	q := url.Values{}
	setIf(q, "after", after)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	err := c.do(ctx, http.MethodGet, idPath("/api/v1/flows/%d/failed", id), q, nil, &out)
	return out, err
}

// RetryFlow starts a run of failed records: the given keys, or all of them.
func (c *Client) RetryFlow(ctx context.Context, id int64, keys []string) (api.JobRef, error) {
	var out api.JobRef
	err := c.do(ctx, http.MethodPost, idPath("/api/v1/flows/%d/failed/retry", id), nil, api.FlowKeys{Keys: keys}, &out)
	return out, err
}

// LinkQuery narrows FlowLinks.
type LinkQuery struct {
	State string // pending, linked, skipped, removed; "" for all
	After string
	Limit int
}

// FlowLinks returns a page of a flow's links (source key ↔ target key).
func (c *Client) FlowLinks(ctx context.Context, id int64, q LinkQuery) (api.FlowLinks, error) {
	var out api.FlowLinks
	v := url.Values{}
	setIf(v, "state", q.State)
	setIf(v, "after", q.After)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	err := c.do(ctx, http.MethodGet, idPath("/api/v1/flows/%d/links", id), v, nil, &out)
	return out, err
}
