package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/alluvium/alluvium/api"
)

// Coordinators returns the Raft configuration as the answering coordinator
// knows it: the leader, the term and every coordinator's addresses.
func (c *Client) Coordinators(ctx context.Context) (api.Coordinators, error) {
	var out api.Coordinators
	return out, c.get(ctx, "/api/v1/coordinators", nil, &out)
}

// AddCoordinator asks the leader to make a coordinator a voter and record
// its addresses; a new coordinator normally does this itself (--join).
func (c *Client) AddCoordinator(ctx context.Context, req api.JoinRequest) error {
	return c.send(ctx, http.MethodPost, "/api/v1/coordinators", req, nil)
}

// RemoveCoordinator removes a coordinator from the Raft configuration for
// good (IsNotFound when it is not a member).
func (c *Client) RemoveCoordinator(ctx context.Context, id string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: "/api/v1/coordinators", query: url.Values{"id": {id}}})
}

// Health returns the health of a coordinator that has a leader and has
// applied its log. An unhealthy coordinator answers 503, so with several
// URLs this is the first healthy one's view; give one URL to check one.
func (c *Client) Health(ctx context.Context) (api.Health, error) {
	var out api.Health
	return out, c.get(ctx, "/api/v1/health", nil, &out)
}

// OpenAPI returns the API's machine-readable contract, the OpenAPI document
// the coordinator serves, for tools that generate or validate requests.
func (c *Client) OpenAPI(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	return out, c.get(ctx, "/api/v1/openapi.json", nil, &out)
}
