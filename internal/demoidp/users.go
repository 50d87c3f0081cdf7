package demoidp

import "slices"

// User is a demo account. Every user signs in without a password: the
// verification page simply asks which user is approving the device.
type User struct {
	Subject       string   // "sub": stable and distinct from Username
	Username      string   // "preferred_username"; also the value picked on /device
	Name          string   // "name"
	Email         string   // "email"
	EmailVerified bool     // "email_verified"
	Groups        []string // "groups", released with the profile scope
}

var users = []User{
	{
		Subject:       "u-1001-alice",
		Username:      "alice",
		Name:          "Alice Liddell",
		Email:         "alice@example.com",
		EmailVerified: true,
		Groups:        []string{"admins", "developers"},
	},
	{
		Subject:       "u-1002-bob",
		Username:      "bob",
		Name:          "Bob Builder",
		Email:         "bob@example.com",
		EmailVerified: true,
		Groups:        []string{"developers"},
	},
}

// Users returns a copy of the demo accounts: alice and bob.
func Users() []User {
	out := make([]User, len(users))
	for i, u := range users {
		u.Groups = slices.Clone(u.Groups)
		out[i] = u
	}
	return out
}

func userByName(username string) (User, bool) {
	for _, u := range users {
		if u.Username == username {
			return u, true
		}
	}
	return User{}, false
}

func userBySubject(sub string) (User, bool) {
	for _, u := range users {
		if u.Subject == sub {
			return u, true
		}
	}
	return User{}, false
}
