// Package host is what a tool embeds to sign its users in with the OAuth 2.0
// Device Authorization Grant (RFC 8628) through their organisation's identity
// provider. Open reads the configuration; a Session per profile runs the
// login and hands out tokens as an oauth2.TokenSource and an *http.Client:
//
//	h, err := host.Open(ctx, host.WithApp("mytool"))
//	...
//	defer h.Close()
//	s, err := h.Session("")          // the default profile
//	client := s.Client(ctx)          // attaches and refreshes tokens
//
// # Rationale
//
// One engine, many adapters. The RFC exchanges (device authorization,
// polling, refresh, revocation, discovery, userinfo, ID-token verification)
// are implemented once, in internal/engine. What differs between providers —
// endpoint layout, odd status codes, non-standard error names, extra
// parameters, claim names — is adapted by a plugin at the wire edge. Plugins
// never perform I/O: every request leaves through the host's HTTP edge, which
// sends it only to the origins of the endpoints the plugin's configure
// returned, after redirects too.
//
// Built-ins speak the contract too. The providers idplug ships are Go
// packages written against sdk/ that register themselves (package plugins
// links them all); they are called in-process through the same JSON documents
// as any plugin, with the same deadline and error policy, so a program gets
// them with plain go get and pays no sandbox for code idplug wrote. A
// stranger's plugin runs in the WebAssembly sandbox, or as a subprocess.
// Nothing in this package knows a provider by name.
//
// # Embedding
//
// A tool compiles in its default configuration (WithDefaultConfig), so that
// it works before its user writes a file; adds its own provider in-process
// (WithProvider, or sdk.Register from an init function); or ships a
// WebAssembly plugin inside its binary (WithWasmPlugin), sandboxed like any
// module. Package host/cli mounts the commands under the tool's own.
//
// The fast path never touches a plugin. A cached, valid token is read from
// the store, keyed by the profile and a fingerprint of its configuration, and
// returned without loading any plugin. Plugins load lazily, only when a
// session needs the network.
//
// Tokens people can trust. With [store] backend = "auto" (the default) or
// "keyring", bundles are files encrypted with AES-256-GCM whose random keys
// live in the OS keyring, so large JWT bundles fit the keyring's small item
// limits; "auto" falls back to 0600 plain files, warning once, where no
// keyring is reachable. Files are replaced atomically (temporary file, fsync,
// rename, directory fsync), so a crash leaves the previous bundle readable. A
// refresh happens under a per-profile file lock and re-reads the bundle once
// it holds the lock, so that processes racing at expiry cause one refresh and
// never present a rotated-out refresh token; a login saves under the same
// lock, so that no refresh of the session it replaces writes over it. Every
// ID token is verified (signature, iss, aud, azp, exp) before anything is
// stored, and a refresh whose ID token, or a userinfo answer that, names
// another subject than the login's is refused: a session never changes
// identity behind the user's back.
//
// Errors carry their kind: errors.Is(err, ErrNotLoggedIn), ErrAccessDenied,
// ErrExpired, and *ConfigError for a configuration problem, so that a CLI can
// map them to exit codes (host/cli does).
package host
