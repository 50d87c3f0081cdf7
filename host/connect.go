package host

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/idplug/idplug/internal/config"
	"github.com/idplug/idplug/internal/engine"
	"github.com/idplug/idplug/internal/plugin"
	"github.com/idplug/idplug/sdk"
)

// conn is what talking to the provider takes: the plugin, and the engine
// connected to the provider's resolved endpoints.
type conn struct {
	plugin   *plugin.Plugin
	engine   *engine.Client
	settings map[string]string // as configure received them; identity gets them too
}

// connect loads the provider's plugin, checks the profile's settings against
// the ones it declares, calls configure, and connects the engine to the
// endpoints it returned. It runs once per session.
func (s *Session) connect(ctx context.Context) (*conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		return s.conn, nil
	}
	p, err := s.h.plugins.Load(ctx, s.profile.Provider)
	if err != nil {
		var ce *plugin.ConfigError
		switch {
		case errors.As(err, &ce) && ce.InSource: // it names the [plugins] entry
			return nil, &ConfigError{Err: ce.Err}
		case errors.As(err, &ce):
			return nil, &ConfigError{Err: s.profile.ProviderError(ce.Err)}
		}
		return nil, err
	}
	settings, err := s.settings(p.Name(), p.Info())
	if err != nil {
		return nil, err
	}
	client := sdk.Client{ClientID: s.profile.ClientID, ClientSecret: string(s.profile.ClientSecret), Scopes: s.profile.Scopes}
	spec, cerrs, err := p.Configure(ctx, settings, client)
	if err != nil {
		return nil, err
	}
	if len(cerrs) > 0 {
		errs := make([]error, len(cerrs))
		for i, ce := range cerrs {
			// One line each: a plugin's message must not start lines of
			// its own in what the user reads.
			errs[i] = s.profile.SettingError(ce.Setting, oneLine(ce.Message))
		}
		return nil, &ConfigError{Err: errors.Join(errs...)}
	}
	eng, err := engine.Connect(ctx, engine.Config{
		Provider: p.Name(), Spec: *spec, Client: client, Hooks: p,
		Version: s.h.opts.version, Logger: s.h.opts.logger, Secrets: secretSettings(p.Info(), settings),
		PKCE: !s.profile.NoPKCE,
	})
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", s.profile.Name, err)
	}
	s.conn = &conn{plugin: p, engine: eng, settings: settings}
	return s.conn, nil
}

// settings checks the profile's [settings] against what the plugin declares
// and returns their text forms, defaults applied. Errors name file, line and
// key.
func (s *Session) settings(provider string, info sdk.PluginInfo) (map[string]string, error) {
	declared := map[string]sdk.SettingSpec{}
	var errs []error
	out := map[string]string{}
	for _, spec := range info.Settings {
		declared[spec.Name] = spec
		v, ok := s.profile.Setting(spec.Name)
		switch {
		case ok:
			text, err := settingText(spec, v.Raw)
			if err == nil && spec.Required && text == "" {
				err = fmt.Errorf("provider %q requires this setting (%s); it cannot be empty", provider, spec.Help)
			}
			if err != nil {
				errs = append(errs, s.profile.SettingError(spec.Name, err.Error()))
				continue
			}
			out[spec.Name] = text
		case spec.Default != "":
			out[spec.Name] = spec.Default
		case spec.Required:
			errs = append(errs, s.profile.SettingError(spec.Name, fmt.Sprintf("provider %q requires this setting (%s): add it under [profiles.%s.settings]", provider, spec.Help, s.profile.Name)))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.profile.Settings)) {
		if _, ok := declared[name]; !ok {
			errs = append(errs, s.profile.SettingError(name, fmt.Sprintf("provider %q has no setting %q%s; it accepts: %s (see `%s plugins info %s`)",
				provider, name, config.Suggest(name, slices.Collect(maps.Keys(declared))), settingList(info), s.h.opts.commandPath(), provider)))
		}
	}
	if len(errs) > 0 {
		return nil, &ConfigError{Err: errors.Join(errs...)}
	}
	return out, nil
}

// oneLine returns s with its line breaks as spaces; other control
// characters are for the printing edge to escape.
func oneLine(s string) string { return lineBreaks.Replace(s) }

var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

// secretSettings returns the values of the settings info declares secret.
func secretSettings(info sdk.PluginInfo, settings map[string]string) []string {
	var out []string
	for _, spec := range info.Settings {
		if v := settings[spec.Name]; spec.Secret && v != "" {
			out = append(out, v)
		}
	}
	return out
}

func settingList(info sdk.PluginInfo) string {
	if len(info.Settings) == 0 {
		return "no settings"
	}
	names := make([]string, len(info.Settings))
	for i, s := range info.Settings {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// settingText checks a TOML value against its declared type and returns its
// text form, unchanged: a url must be absolute, https or http on a loopback
// host, without query or fragment (sdk.CheckURL's rule), and reaches the
// plugin as written. No message quotes the value of a secret setting.
func settingText(spec sdk.SettingSpec, v any) (string, error) {
	switch spec.Type {
	case sdk.SettingBool:
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
		return "", fmt.Errorf("must be true or false, not %s", describe(v))
	case sdk.SettingInt:
		if n, ok := v.(int64); ok {
			return strconv.FormatInt(n, 10), nil
		}
		return "", fmt.Errorf("must be an integer, not %s", describe(v))
	case sdk.SettingURL:
		str, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("must be a URL in quotes, not %s", describe(v))
		}
		if _, cerr := sdk.CheckURL("", str); cerr != nil {
			if spec.Secret { // the message may quote the value
				return "", errors.New("must be an absolute https URL (http:// only for loopback hosts), without query or fragment; the value is secret, so it is not shown")
			}
			return "", errors.New(cerr.Message)
		}
		return str, nil
	default: // string
		if str, ok := v.(string); ok {
			return str, nil
		}
		return "", fmt.Errorf("must be a string in quotes, not %s", describe(v))
	}
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}
