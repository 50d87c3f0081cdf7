package host

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/idplug/idplug/internal/store"
)

// Status is what is known of a profile without contacting its provider.
type Status struct {
	Profile   string     `json:"profile"`
	Provider  string     `json:"provider"`
	Default   bool       `json:"default"`
	LoggedIn  bool       `json:"logged_in"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Expired   bool       `json:"expired"`
	Refresh   bool       `json:"refreshable"`
	Backend   string     `json:"backend"` // "keyring" or "file": where the tokens are, or where a login puts them
	Error     string     `json:"error,omitempty"`
}

// Status reports every profile's state from the store alone.
func (h *Host) Status(ctx context.Context) []Status {
	def, _ := h.cfg.Profile("")
	var out []Status
	for _, name := range slices.Sorted(maps.Keys(h.cfg.Profiles)) {
		s, err := h.Session(name)
		if err != nil {
			continue
		}
		st := Status{Profile: name, Provider: s.profile.Provider, Default: def != nil && def.Name == name, Backend: h.store.Backend()}
		b, err := h.store.Load(ctx, s.key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			st.Error = err.Error()
		default:
			st.LoggedIn = true
			st.Backend = b.Backend
			st.Refresh = b.RefreshToken != ""
			if !b.Expiry.IsZero() {
				t := b.Expiry.UTC()
				st.ExpiresAt = &t
				st.Expired = !s.fresh(b)
			}
		}
		out = append(out, st)
	}
	return out
}
