// Package cli holds the idplug commands as cobra commands, so that any Go
// command-line tool can mount the same login, token, whoami, status, logout
// and plugins commands as the reference CLI:
//
//	auth := &cobra.Command{Use: "auth", Short: "Sign in to your organisation"}
//	cli.Mount(auth, cli.Options{App: "mytool", Version: version})
//	root.AddCommand(auth)
//
// Errors map to the exit codes of ExitCode; messages go to stderr and say
// what to do.
//
// Text that came from a plugin or an identity provider (a plugin's describe,
// an identity, an error's message) is printed through internal/safetext, so
// that it cannot drive the terminal: control characters, escape sequences
// and bidirectional overrides are shown escaped, as Go writes them (\x1b,
// \u202e). JSON output holds the exact values.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/internal/config"
	"github.com/idplug/idplug/internal/safetext"
)

// Exit codes of the idplug commands.
const (
	ExitOK           = 0 // success
	ExitFailure      = 1 // anything else
	ExitUsage        = 2 // bad flags or arguments, or a configuration error
	ExitNotLoggedIn  = 3 // no usable tokens: run login
	ExitAccessDenied = 4 // the user or the identity provider refused
	ExitExpired      = 5 // the device code expired before approval
)

// IO are the streams the commands use. Tests pass buffers and set the TTY
// flags they want to exercise.
type IO struct {
	In        io.Reader
	Out       io.Writer
	ErrOut    io.Writer
	OutTTY    bool // stdout is a terminal
	ErrOutTTY bool // stderr is a terminal that can redraw a line: show live progress
}

// SystemIO returns the process's standard streams. Live progress, drawn with
// carriage returns and ANSI erase-line sequences, is shown only when stderr is
// a terminal other than TERM=dumb; the commands use no colour.
func SystemIO() IO {
	return IO{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		OutTTY:    term.IsTerminal(int(os.Stdout.Fd())),
		ErrOutTTY: term.IsTerminal(int(os.Stderr.Fd())) && os.Getenv("TERM") != "dumb",
	}
}

// Options configure the mounted commands.
type Options struct {
	// App is the tool's name (default "idplug"): it names the configuration
	// path, the environment variables ($<APP>_CONFIG, $<APP>_PROFILE), the
	// token store and the commands' hints.
	App string
	// Version is reported by the version command and in the User-Agent.
	Version string
	// IO defaults to SystemIO().
	IO *IO
	// HostOptions are passed to host.Open after the ones the flags imply.
	HostOptions []host.Option
	// OpenBrowser opens a URL for login; nil means the system browser.
	OpenBrowser func(url string) error
}

// globals are the flags every command shares, and the host they open.
type globals struct {
	opts       Options
	io         IO
	parent     *cobra.Command // where the commands are mounted
	configFile string
	profile    string
	debug      bool
}

// Mount adds the idplug commands to parent, with the global flags --config,
// --profile and --debug as persistent flags of parent. It changes nothing
// else of parent or of the commands already under it: the commands it adds
// use Options.IO, print no usage dump on errors and leave printing an error
// to Main (or to the caller: ExitCode maps it).
func Mount(parent *cobra.Command, opts Options) { mount(parent, opts) }

// mount mounts the commands and returns their shared state.
func mount(parent *cobra.Command, opts Options) *globals {
	if opts.App == "" {
		opts.App = "idplug"
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	g := &globals{opts: opts, io: SystemIO(), parent: parent}
	if opts.IO != nil {
		g.io = *opts.IO
	}
	f := parent.PersistentFlags()
	configEnv, profileEnv := config.EnvName(opts.App, "CONFIG"), config.EnvName(opts.App, "PROFILE")
	f.StringVar(&g.configFile, "config", "", "configuration file (default $"+configEnv+", else $XDG_CONFIG_HOME/"+opts.App+"/config.toml)")
	f.StringVar(&g.profile, "profile", os.Getenv(profileEnv), "profile to use (env $"+profileEnv+"; default: default_profile)")
	f.BoolVar(&g.debug, "debug", false, "log diagnostics and HTTP exchanges to stderr, secrets redacted")
	for _, cmd := range []*cobra.Command{
		newLoginCmd(g), newTokenCmd(g), newWhoamiCmd(g), newStatusCmd(g),
		newLogoutCmd(g), newPluginsCmd(g), newVersionCmd(g),
		newExecCredentialCmd(g), newGitCredentialCmd(g), newExecCmd(g),
	} {
		parent.AddCommand(cmd)
		g.adapt(cmd)
	}
	return g
}

// command returns what the user types to run the mounted command name:
// "idplug login", or "mytool auth login" when mounted under "mytool auth".
func (g *globals) command(name string) string {
	return g.parent.CommandPath() + " " + name
}

// adapt fits cmd, one of the commands Mount adds, and every command below
// it to where they are mounted. They use the IO of Options; a bad flag or
// argument is a usage error (exit 2); errors are printed by Main, once:
// cobra would print them again, with the usage, unless every command
// silences it. Help texts name "<app> login", but mounted under "mytool
// auth" they say "mytool auth login" (the host's hints get the path through
// host.WithCommand); the path is known only once the tool has built its
// tree, so the words change when the help is shown.
func (g *globals) adapt(cmd *cobra.Command) {
	g.adaptOne(cmd)
	for _, sub := range cmd.Commands() {
		g.adapt(sub)
	}
}

// adaptOne adapts cmd alone.
func (g *globals) adaptOne(cmd *cobra.Command) {
	cmd.SetIn(g.io.In)
	cmd.SetOut(g.io.Out)
	cmd.SetErr(g.io.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{err, c.CommandPath()}
	})
	markUsageErrors(cmd)
	help := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		if path := g.parent.CommandPath(); path != g.opts.App {
			long, example := c.Long, c.Example
			defer func() { c.Long, c.Example = long, example }()
			c.Long = strings.ReplaceAll(c.Long, g.opts.App+" ", path+" ")
			c.Example = strings.ReplaceAll(c.Example, g.opts.App+" ", path+" ")
		}
		help(c, args)
	})
}

// markUsageErrors makes wrong positional arguments of cmd a usage error
// (exit 2). A command that only groups others, such as the root or plugins,
// shows its help when run alone and rejects an unknown subcommand: cobra
// would show the help and exit 0.
func markUsageErrors(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			err := fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath())
			if c.SuggestionsMinimumDistance <= 0 {
				c.SuggestionsMinimumDistance = 2
			}
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				err = fmt.Errorf("%w; did you mean %q?", err, s[0])
			}
			return usageError{err, c.CommandPath()}
		}
	}
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return usageError{err, c.CommandPath()}
			}
			return nil
		}
	}
}

// NewRootCommand returns the reference CLI's root command with every idplug
// command mounted.
func NewRootCommand(opts Options) *cobra.Command {
	app := opts.App
	if app == "" {
		app = "idplug"
	}
	root := &cobra.Command{
		Use:   app,
		Short: "Sign in from the command line through your identity provider",
		Long: app + ` signs you in with the OAuth 2.0 Device Authorization Grant (RFC 8628):
it shows a short code and a URL, you approve on any device, and it keeps the
tokens in the token store. Identity providers are plugins, chosen per profile
in the configuration file.

Exit codes: 0 ok, 1 failure, 2 usage or configuration error, 3 not logged in
(run login), 4 access denied at the identity provider, 5 device code expired.`,
		Example: `  ` + app + ` login                 # sign in with the default profile
  ` + app + ` token                 # print a valid access token (refreshes as needed)
  curl -H "Authorization: Bearer $(` + app + ` token)" https://api.example.com/
  ` + app + ` whoami --profile work # who am I on the "work" profile`,
	}
	// The root is the reference CLI's own: it gets the same treatment as
	// the commands under it.
	mount(root, opts).adaptOne(root)
	return root
}

// Main runs root with args and returns the process exit code, printing any
// error to stderr.
func Main(ctx context.Context, root *cobra.Command, args []string) int {
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var silent silentError
	if !errors.As(err, &silent) {
		w := root.ErrOrStderr()
		if cmd != nil {
			w = cmd.ErrOrStderr() // the stream given to Mount
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			// Ctrl-C: the cancelled request inside says nothing useful.
			fmt.Fprintf(w, "%s: interrupted\n", root.Name())
			return ExitFailure
		}
		fmt.Fprintf(w, "%s: %s\n", root.Name(), message(err.Error()))
		var hint hintError
		var usage usageError
		switch {
		case errors.As(err, &hint):
			fmt.Fprintln(w, message(hint.hint))
		case errors.As(err, &usage):
			fmt.Fprintf(w, "Run '%s --help' for usage.\n", usage.command)
		}
	}
	return ExitCode(err)
}

// message makes an error or hint text, which may quote a plugin or an
// identity provider, safe to print: each of its lines is made safe with
// safetext.Line, and every line after the first is indented, so that no
// text inside an error can pass for a line of its own, such as a forged
// "idplug: login succeeded". The lines of a message, such as the problems
// of a configuration file one per line, stay lines.
func message(s string) string {
	lines := strings.Split(s, "\n")
	for i, line := range lines {
		line = safetext.Line(line)
		if i > 0 && line != "" {
			line = "  " + line
		}
		lines[i] = line
	}
	return strings.Join(lines, "\n")
}

// ExitCode maps an error of the commands to its exit code.
func ExitCode(err error) int {
	var ce *host.ConfigError
	var ue usageError
	var se silentError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &se):
		return se.code
	case errors.As(err, &ue), errors.As(err, &ce):
		return ExitUsage
	case errors.Is(err, host.ErrNotLoggedIn):
		return ExitNotLoggedIn
	case errors.Is(err, host.ErrAccessDenied):
		return ExitAccessDenied
	case errors.Is(err, host.ErrExpired):
		return ExitExpired
	}
	return ExitFailure
}

// usageError is a bad flag or argument of command.
type usageError struct {
	error
	command string
}

func (e usageError) Unwrap() error { return e.error }

// hintError carries what the user can do about an error, printed on its own
// line after it.
type hintError struct {
	error
	hint string
}

func (e hintError) Unwrap() error { return e.error }

// silentError carries an exit code for an error already reported (as a JSON
// event, say).
type silentError struct {
	error
	code int
}

func (e silentError) Unwrap() error { return e.error }

// open opens the host with the global flags applied.
func (g *globals) open(ctx context.Context) (*host.Host, error) {
	opts := []host.Option{host.WithApp(g.opts.App), host.WithVersion(g.opts.Version), host.WithConfigFile(g.configFile),
		host.WithWarnings(g.io.ErrOut), host.WithCommand(g.parent.CommandPath())}
	if g.debug {
		opts = append(opts, host.WithLogger(slog.New(slog.NewTextHandler(g.io.ErrOut, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	return host.Open(ctx, append(opts, g.opts.HostOptions...)...)
}

// session opens the host and the session of the selected profile. The caller
// closes the host.
func (g *globals) session(ctx context.Context) (*host.Host, *host.Session, error) {
	h, err := g.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	s, err := h.Session(g.profile)
	if err != nil {
		h.Close()
		return nil, nil, err
	}
	return h, s, nil
}
