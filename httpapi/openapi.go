package httpapi

import (
	_ "embed"
	"encoding/json"
	"net/http"
)

// openAPIDocument is the OpenAPI 3.0.3 description of this API, written by
// hand beside the handlers; openapi_test.go checks every route and every
// answer of the contract against it.
//
//go:embed openapi.json
var openAPIDocument []byte

func (s *server) openAPIRoutes() []route {
	return []route{
		{http.MethodGet, "/api/v1/openapi.json", local, s.getOpenAPI},
	}
}

func (s *server) getOpenAPI(r *http.Request) (any, error) {
	if _, err := query(r); err != nil {
		return nil, err
	}
	return json.RawMessage(openAPIDocument), nil
}
