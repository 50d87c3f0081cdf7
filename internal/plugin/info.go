package plugin

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/idplug/idplug/sdk"
)

// checkInfo returns what is wrong with what describe returned, or nil. It
// refuses:
//
//   - a hook this host does not know, or a hook listed twice;
//   - a setting without a name, or whose name is not a TOML bare key
//     (ASCII letters, digits, _ and -): the profile's [settings] table could
//     not hold it as the user writes keys;
//   - a setting listed twice;
//   - a setting of a type this host does not know;
//   - a required setting with a default: the default means the setting is
//     never missing, so one of the two declarations is a mistake;
//   - a default that is not a value of its setting's type, which the host
//     would hand the plugin unchecked.
//
// The name and version the plugin gives itself are only shown, never used
// to find it (the configuration's key does that), so they are not checked.
func checkInfo(info sdk.PluginInfo) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	hooks := map[sdk.Hook]int{}
	for _, h := range info.Hooks {
		if hooks[h]++; hooks[h] > 1 {
			if hooks[h] == 2 {
				bad("lists hook %q twice", h)
			}
			continue
		}
		if h != sdk.HookPrepare && h != sdk.HookInterpret {
			bad("lists the unknown hook %q (this idplug knows %s and %s)", h, sdk.HookPrepare, sdk.HookInterpret)
		}
	}
	settings := map[string]int{}
	for _, s := range info.Settings {
		if settings[s.Name]++; settings[s.Name] > 1 {
			if settings[s.Name] == 2 {
				bad("lists setting %q twice", s.Name)
			}
			continue
		}
		switch {
		case s.Name == "":
			bad("lists a setting without a name")
			continue
		case !bareKey(s.Name):
			bad("lists setting %q, whose name is not a TOML bare key (ASCII letters, digits, _ and -)", s.Name)
		}
		switch s.Type {
		case sdk.SettingString, sdk.SettingBool, sdk.SettingInt, sdk.SettingURL:
		default:
			bad("gives setting %q the unknown type %q (this idplug knows %s, %s, %s and %s)",
				s.Name, s.Type, sdk.SettingString, sdk.SettingBool, sdk.SettingInt, sdk.SettingURL)
			continue
		}
		switch {
		case s.Default == "":
		case s.Required:
			bad("declares setting %q required and gives it a default, so it is never missing", s.Name)
		case !validDefault(s.Type, s.Default):
			bad("gives setting %q a default that is not a valid %s", s.Name, s.Type)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; ") + "; the plugin is broken, report it to its author")
}

// bareKey reports whether s is a TOML bare key: ASCII letters, digits, _
// and -, at least one.
func bareKey(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-')
	})
}

// validDefault reports whether def is a value of type t in the text form the
// host hands plugins: true or false, a decimal integer, or a URL that
// sdk.CheckURL accepts.
func validDefault(t sdk.SettingType, def string) bool {
	switch t {
	case sdk.SettingBool:
		return def == "true" || def == "false"
	case sdk.SettingInt:
		_, err := strconv.ParseInt(def, 10, 64)
		return err == nil
	case sdk.SettingURL:
		_, cerr := sdk.CheckURL("", def)
		return cerr == nil
	}
	return true
}
