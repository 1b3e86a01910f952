// Command alluvium is Alluvium's single binary: a coordinator of the HA
// cluster, an all-in-one local cluster (dev), and a CLI over the REST API.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "alluvium:", err)
		os.Exit(1)
	}
}
