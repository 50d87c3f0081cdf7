package host

import (
	"slices"

	"github.com/BurntSushi/toml"

	"github.com/idplug/idplug/internal/config"
)

// Git returns what git's credential helper needs from the profile: the hosts
// its access token may be given to (git_hosts, each lower-case host[:port],
// as git sends them) and the username git is given with it (git_username,
// "oauth2" when unset). A profile that lists no host in git_hosts is a
// *ConfigError naming the key and the profile's line: the token goes to no
// server the configuration does not name.
func (s *Session) Git() (hosts []string, username string, err error) {
	p := s.profile
	if len(p.GitHosts) == 0 {
		what := "missing"
		if p.GitHosts != nil {
			what = "lists no host"
		}
		return nil, "", &ConfigError{Err: &config.Error{
			Pos: p.Pos,
			Key: toml.Key{"profiles", p.Name, "git_hosts"}.String(),
			Msg: what + `; git-credential gives this profile's token only to the hosts listed there: ` +
				`add git_hosts = ["gitlab.example.com"] to the profile, each host as in the remote's URL, with :PORT when it has one`,
		}}
	}
	username = p.GitUsername
	if username == "" {
		username = "oauth2"
	}
	return slices.Clone(p.GitHosts), username, nil
}
