package coordinatortest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/alluvium/alluvium/coordinator/coordinatortest"
	"github.com/alluvium/alluvium/fsm"
)

// A test of your own code against a real, replicated coordinator: three
// nodes in memory, a write on the leader, and a read on every replica.
func Example() {
	t := &testing.T{} // in a real test, use the *testing.T you are given
	cluster := coordinatortest.New(t, 3)
	defer cluster.Shutdown()

	leader := cluster.WaitLeader()
	ctx := context.Background()
	_, err := leader.Apply(ctx, &fsm.AddMount{Mount: fsm.Mount{Path: "/data", UFS: "file:///srv/data"}})
	fmt.Println("mounted:", err == nil)

	if err := cluster.WaitApplied(ctx, leader.FSM().AppliedIndex()); err != nil {
		fmt.Println(err)
	}
	for _, node := range cluster.Coordinators() {
		m, _ := node.FSM().Mount("/data")
		fmt.Println(node.ID(), m.UFS)
	}
	// Output:
	// mounted: true
	// c1 file:///srv/data
	// c2 file:///srv/data
	// c3 file:///srv/data
}
