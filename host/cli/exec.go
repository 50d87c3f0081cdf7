package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/idplug/idplug/internal/config"
)

// envName is a portable environment variable name (POSIX.1-2017 §8.1).
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func newExecCmd(g *globals) *cobra.Command {
	name := config.EnvName(g.opts.App, "TOKEN")
	var env string
	cmd := &cobra.Command{
		Use:   "exec [--env NAME] -- COMMAND [ARG…]",
		Short: "Run a command with a valid access token in its environment",
		Long: `Run COMMAND with the profile's access token, refreshed when needed, in the
environment variable NAME (default ` + name + `). Standard input, output and error
are COMMAND's; signals sent to ` + g.opts.App + ` (interrupt, terminate, hang-up, quit and
the user signals) are passed on to it, and ` + g.opts.App + ` exits with its status (128+N
when signal N ended it).

Exits 3 without running COMMAND when the profile is not logged in: run ` + g.opts.App + ` login.`,
		Example: `  ` + g.opts.App + ` exec -- sh -c 'curl -H "Authorization: Bearer $` + name + `" https://api.example.com/'
  ` + g.opts.App + ` exec --env GITLAB_TOKEN --profile work -- glab api user`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runExec(cmd.Context(), g, env, args) },
	}
	cmd.Flags().StringVar(&env, "env", name, "the environment variable that carries the access token")
	cmd.Flags().SetInterspersed(false) // what follows COMMAND is its own
	return cmd
}

func runExec(ctx context.Context, g *globals, env string, args []string) error {
	if !envName.MatchString(env) {
		return usageError{fmt.Errorf("--env %q is not an environment variable name: use letters, digits and _, not starting with a digit", env), g.command("exec")}
	}
	h, s, err := g.session(ctx)
	if err != nil {
		return err
	}
	tok, err := s.Token(ctx)
	h.Close() // the command may run for hours: hold no plugin meanwhile
	if err != nil {
		return err
	}
	environ := append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, env+"=") }), env+"="+tok.AccessToken)
	if g.io.In == os.Stdin && g.io.Out == os.Stdout && g.io.ErrOut == os.Stderr {
		// The command takes idplug's place where the system allows it: its
		// signals, stdio and exit status are then simply its own.
		path, err := exec.LookPath(args[0])
		if err != nil {
			return fmt.Errorf("cannot run %s: %w", args[0], err)
		}
		if err := replace(path, args, environ); err != nil && !errors.Is(err, errCannotReplace) {
			return fmt.Errorf("cannot run %s: %w", args[0], err)
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = g.io.In, g.io.Out, g.io.ErrOut
	cmd.Env = environ

	// A child, then: it gets the signals sent to idplug. Listen before the
	// start, so that no signal slips between them.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot run %s: %w", args[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case sig := <-sigs:
			cmd.Process.Signal(sig)
		case err := <-done:
			return exitStatus(err)
		}
	}
}

// errCannotReplace is replace's answer where a process cannot take another
// program's place.
var errCannotReplace = errors.New("the process cannot be replaced here")

// exitStatus passes the command's exit status on as the error of exec:
// nothing to print, the command said what it had to.
func exitStatus(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	code := ee.ExitCode()
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	return silentError{err, code}
}
