package client_test

import (
	"errors"

	"github.com/alluvium/alluvium/client"
)

// conflictIs reports a 409 to a job submission that names job id with this
// state, resumption and alias (see TestEveryMethodAgainstARealCluster).
func conflictIs(err error, id, state string, resumed bool, alias string) bool {
	var e *client.Error
	return client.IsConflict(err) && client.ConflictID(err) == id && errors.As(err, &e) &&
		e.State == state && e.Resumed == resumed && e.Alias == alias
}
