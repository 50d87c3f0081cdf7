package host_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/idplug/idplug/host"
	"github.com/idplug/idplug/internal/demoidp"
)

// A tool embeds the host, logs the user in once, and then calls its API
// with an *http.Client that attaches (and refreshes) the access token. The
// identity provider here is the demo IdP on 127.0.0.1, which approves the
// code as soon as the tool shows it.
func Example() {
	ctx := context.Background()
	idp, _ := demoidp.Start(ctx, demoidp.Options{PollInterval: time.Second, Logger: slog.New(slog.DiscardHandler)})
	defer idp.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	config := filepath.Join(dir, "config.toml")
	os.WriteFile(config, []byte(`
[store]
backend = "file"
dir = "`+filepath.Join(dir, "tokens")+`"

[profiles.work]
provider  = "oidc"
client_id = "idplug-demo"
[profiles.work.settings]
issuer = "`+idp.URL()+`"
`), 0o600)

	// The tool's own API, which wants a bearer token.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Get("Authorization")) > len("Bearer ") {
			fmt.Fprint(w, "hello, authenticated caller")
			return
		}
		http.Error(w, "no token", http.StatusUnauthorized)
	}))
	defer api.Close()

	h, err := host.Open(ctx, host.WithApp("mytool"), host.WithConfigFile(config), host.WithCacheDir(filepath.Join(dir, "cache")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	s, _ := h.Session("work")

	id, err := s.Login(ctx, host.LoginOptions{
		OnCode: func(code host.DeviceCode) {
			// A real tool prints code.VerificationURI and code.UserCode.
			idp.Approve(code.UserCode, "alice")
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("logged in as", id.Username)

	resp, err := s.Client(ctx).Get(api.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// logged in as alice
	// 200 OK
}
