package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/internal/safetext"
	"github.com/idplug/idplug/sdk"
)

func newPluginsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List provider plugins and show their settings",
		Long: `List the provider plugins: the built-in ones and those configured under
[plugins.NAME] in the configuration file, and show the settings a plugin
accepts under [profiles.NAME.settings].`,
		Example: `  ` + g.opts.App + ` plugins list
  ` + g.opts.App + ` plugins info keycloak`,
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the built-in and configured provider plugins",
		Long: `List the built-in and configured provider plugins with their version, the
plugin contract version they speak, and where they come from. Configured
plugins are loaded, so a plugin that fails to load shows its error here.`,
		Example: `  ` + g.opts.App + ` plugins list
  ` + g.opts.App + ` plugins list --json | jq -r '.[].name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPluginsList(cmd.Context(), g, asJSON) },
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print a JSON array, one object per plugin")
	info := &cobra.Command{
		Use:   "info NAME",
		Short: "Show a plugin's version, contract version and settings",
		Long: `Show a plugin's version, the plugin contract version it speaks, where it
comes from, which optional hooks it implements, and every setting it accepts
under [profiles.NAME.settings]: type, whether it is required or secret, its
default and its help. NAME is a built-in provider or a key of [plugins].`,
		Example: `  ` + g.opts.App + ` plugins info oidc
  ` + g.opts.App + ` plugins info acme --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPluginsInfo(cmd.Context(), g, args[0], asJSON)
		},
	}
	info.Flags().BoolVar(&asJSON, "json", false, "print describe's plugin-info as JSON")
	cmd.AddCommand(list, info)
	return cmd
}

func runPluginsList(ctx context.Context, g *globals, asJSON bool) error {
	h, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer h.Close()
	type row struct {
		sdk.PluginInfo
		Source string `json:"source"`
		Error  string `json:"error,omitempty"`
	}
	plugins, err := h.Plugins(ctx)
	if err != nil {
		return err
	}
	var rows []row
	for _, p := range plugins {
		r := row{PluginInfo: p.PluginInfo, Source: p.Source}
		if p.Err != nil {
			r.Error = p.Err.Error()
		}
		rows = append(rows, r)
	}
	if asJSON {
		writeJSON(g.io.Out, rows)
		return nil
	}
	tw := tabwriter.NewWriter(g.io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tCONTRACT\tSOURCE\tSUMMARY")
	for _, r := range rows {
		summary := r.Summary
		if r.Error != "" {
			summary = "error: " + r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", safetext.Line(r.Name), safetext.Line(r.Version), r.ContractVersion,
			safetext.Line(r.Source), safetext.Line(summary))
	}
	return tw.Flush()
}

func runPluginsInfo(ctx context.Context, g *globals, name string, asJSON bool) error {
	h, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer h.Close()
	plugins, err := h.Plugins(ctx, name)
	if err != nil {
		return err
	}
	if plugins[0].Err != nil {
		return plugins[0].Err
	}
	info, source := plugins[0].PluginInfo, plugins[0].Source
	if asJSON {
		writeJSON(g.io.Out, info)
		return nil
	}
	w := g.io.Out
	fmt.Fprintf(w, "%s %s — %s\n", safetext.Line(info.Name), safetext.Line(info.Version), safetext.Line(info.Summary))
	fmt.Fprintf(w, "source: %s\ncontract version: %d\n", safetext.Line(source), info.ContractVersion)
	hooks := make([]string, len(info.Hooks))
	for i, h := range info.Hooks {
		hooks[i] = safetext.Line(string(h))
	}
	if len(hooks) == 0 {
		hooks = []string{"none"}
	}
	fmt.Fprintf(w, "optional hooks: %s\n\nsettings ([profiles.NAME.settings]):\n", strings.Join(hooks, ", "))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range info.Settings {
		var flags []string
		if s.Required {
			flags = append(flags, "required")
		}
		if s.Secret {
			flags = append(flags, "secret")
		}
		if s.Default != "" {
			flags = append(flags, "default "+s.Default)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", safetext.Line(s.Name), safetext.Line(string(s.Type)),
			safetext.Line(strings.Join(flags, ", ")), safetext.Line(s.Help))
	}
	return tw.Flush()
}
