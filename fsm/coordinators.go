package fsm

// Coordinator is a coordinator's addresses, published so that any node can
// forward a request to the leader's HTTP API.
type Coordinator struct {
	ID          string `json:"id" msgpack:"ID"`
	RaftAddress string `json:"raftAddress" msgpack:"RaftAddress"`
	HTTPAddress string `json:"httpAddress" msgpack:"HTTPAddress"`
}

// SetCoordinator adds or updates a coordinator's addresses.
type SetCoordinator struct {
	Coordinator Coordinator `msgpack:"Coordinator"`
}

// RemoveCoordinator forgets a coordinator that left the cluster.
type RemoveCoordinator struct {
	ID string `msgpack:"ID"`
}

func (*SetCoordinator) Type() CommandType    { return CmdSetCoordinator }
func (*RemoveCoordinator) Type() CommandType { return CmdRemoveCoordinator }

func (f *FSM) applySetCoordinator(_ uint64, c *SetCoordinator) any {
	if c.Coordinator.ID == "" || c.Coordinator.HTTPAddress == "" {
		return invalidf("a coordinator needs an id and an HTTP address")
	}
	f.s.coordinators[c.Coordinator.ID] = c.Coordinator
	return nil
}

func (f *FSM) applyRemoveCoordinator(_ uint64, c *RemoveCoordinator) any {
	if _, ok := f.s.coordinators[c.ID]; !ok {
		return notFoundf("coordinator %q is not known", c.ID)
	}
	delete(f.s.coordinators, c.ID)
	return nil
}

// Coordinators lists the known coordinators, ordered by id.
func (f *FSM) Coordinators() []Coordinator {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return sortedValues(f.s.coordinators)
}

// Coordinator returns one coordinator's addresses.
func (f *FSM) Coordinator(id string) (Coordinator, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	c, ok := f.s.coordinators[id]
	return c, ok
}
