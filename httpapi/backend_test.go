package httpapi_test

import (
	"github.com/alluvium/alluvium/coordinator"
	"github.com/alluvium/alluvium/httpapi"
)

// The coordinator implements every capability the API declares; a method
// it loses fails the build here, not a request with a silent 501.
var _ httpapi.Backend = (*coordinator.Coordinator)(nil)
