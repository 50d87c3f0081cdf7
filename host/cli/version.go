package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/sdk"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the plugin contract version",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Fprintf(g.io.Out, "%s %s (plugin contract %d, %s %s/%s)\n", g.opts.App, g.opts.Version, sdk.ContractVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}
