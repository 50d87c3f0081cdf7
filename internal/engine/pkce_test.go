package engine

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// TestPKCE: with PKCE, the device authorization request carries an S256
// code_challenge and every poll the code_verifier it was made from
// (RFC 7636 §4); without, neither is sent.
func TestPKCE(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("pkce=", on), func(t *testing.T) {
			var (
				mu        sync.Mutex
				challenge string
				method    string
				verifiers []string
				polls     int
			)
			base := newServer(t, map[string]http.HandlerFunc{
				"POST /device": func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					challenge, method = r.FormValue("code_challenge"), r.FormValue("code_challenge_method")
					mu.Unlock()
					fmt.Fprint(w, `{"device_code":"DC","user_code":"U","verification_uri":"https://idp.example/a","expires_in":600,"interval":5}`)
				},
				"POST /token": func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					defer mu.Unlock()
					polls++
					verifiers = append(verifiers, r.FormValue("code_verifier"))
					if polls < 3 {
						w.WriteHeader(400)
						fmt.Fprint(w, `{"error":"authorization_pending"}`)
						return
					}
					fmt.Fprint(w, `{"access_token":"AT","token_type":"Bearer","expires_in":3600}`)
				},
			})
			c := newClient(t, base, newFakeClock(), func(cfg *Config) { cfg.PKCE = on })
			ctx := background(t)
			da, err := c.DeviceAuth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Poll(ctx, da, nil); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !on {
				if challenge != "" || method != "" || verifiers[0] != "" {
					t.Errorf("PKCE off sent challenge %q (%s), verifier %q", challenge, method, verifiers[0])
				}
				return
			}
			if method != "S256" || len(challenge) != 43 {
				t.Fatalf("code_challenge %q, method %q; want an S256 challenge", challenge, method)
			}
			for i, v := range verifiers {
				if v == "" || oauth2.S256ChallengeFromVerifier(v) != challenge {
					t.Errorf("poll %d sent code_verifier %q, which is not the challenge's", i+1, v)
				}
			}
			if _, ok := c.codes.Load("DC"); ok {
				t.Error("the verifier outlived its flow")
			}
		})
	}
}
