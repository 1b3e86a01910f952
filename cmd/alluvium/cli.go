package main

import "github.com/spf13/cobra"

// addClientCommands adds the CLI verbs over the REST API.
func addClientCommands(root *cobra.Command) {}
