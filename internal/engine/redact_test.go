package engine

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/idplug/idplug/sdk"
)

// TestDebugLogHasNoSecrets runs a whole session — device authorization,
// polls, refresh, userinfo, revocation — with debug logging, and checks that
// no secret reaches the log.
func TestDebugLogHasNoSecrets(t *testing.T) {
	secrets := []string{
		"client-SECRET-1", "device-CODE-1", "access-TOKEN-1", "refresh-TOKEN-1", "id-TOKEN-1",
		"access-TOKEN-2", "refresh-TOKEN-2", "id-TOKEN-2",
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	polls := 0
	base := newServer(t, map[string]http.HandlerFunc{
		"POST /device": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"device_code":"device-CODE-1","user_code":"WDJB-MJHT","verification_uri":"https://idp.example/a","expires_in":600,"interval":5}`)
		},
		"POST /token": func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.FormValue("grant_type") == "refresh_token":
				fmt.Fprint(w, `{"access_token":"access-TOKEN-2","refresh_token":"refresh-TOKEN-2","id_token":"id-TOKEN-2","expires_in":60}`)
			case polls == 0:
				polls++
				w.WriteHeader(400)
				fmt.Fprint(w, `{"error":"authorization_pending"}`)
			default:
				fmt.Fprint(w, `{"access_token": "access-TOKEN-1", "refresh_token": "refresh-TOKEN-1", "id_token":"id-TOKEN-1","token_type":"Bearer"}`)
			}
		},
		"GET /userinfo": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"sub":"u1"}`)
		},
		"POST /revoke": func(w http.ResponseWriter, r *http.Request) {},
	})
	c := newClient(t, base, newFakeClock(), func(cfg *Config) {
		cfg.Spec.AuthStyle = sdk.AuthPost
		cfg.Client.ClientSecret = "client-SECRET-1"
		cfg.Logger = log
	})
	ctx := background(t)
	da, err := c.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Poll(ctx, da, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err = c.Refresh(ctx, tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Userinfo(ctx, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, tok.RefreshToken, "refresh_token"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the debug log shows %q:\n%s", s, out)
		}
	}
	for _, s := range []string{"/device", "/token", "/userinfo", "/revoke", "status=200", "[redacted]", "WDJB-MJHT", "authorization_pending"} {
		if !strings.Contains(out, s) {
			t.Errorf("the debug log lacks %q:\n%s", s, out)
		}
	}
}
