package demoidp

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Errors returned by Server.Approve and Server.Deny (and shown by /device).
var (
	ErrUnknownUserCode = errors.New("unknown user code")
	ErrExpiredUserCode = errors.New("user code has expired")
	ErrUserCodeUsed    = errors.New("user code was already approved or denied")
	ErrUnknownUser     = errors.New("unknown user")
)

var errAuthCodeFlow = errors.New("demoidp supports only the device authorization grant")

type deviceStatus int

const (
	devicePending deviceStatus = iota
	deviceApproved
	deviceDenied
	deviceConsumed // tokens were issued; the device code is spent
)

type deviceAuth struct {
	seq        uint64
	clientID   string
	deviceCode string
	userCode   string // canonical form XXXX-XXXX
	scopes     []string
	expires    time.Time
	status     deviceStatus
	subject    string
	authTime   time.Time
}

type accessToken struct {
	clientID string
	subject  string
	scopes   []string
	expires  time.Time
	refresh  string // the refresh token issued with it, if any
}

type refreshToken struct {
	clientID string
	subject  string
	scopes   []string // scopes of the original grant
	authTime time.Time
	expires  time.Time
	access   string // ID of the access token issued with it
}

// storage is an in-memory op.Storage with device authorization support.
// All methods are safe for concurrent use.
type storage struct {
	client       *client
	key          *rsa.PrivateKey
	keyID        string
	accessTTL    time.Duration
	refreshTTL   time.Duration
	deviceTTL    time.Duration
	now          func() time.Time
	mu           sync.Mutex
	seq          uint64
	byDeviceCode map[string]*deviceAuth
	byUserCode   map[string]*deviceAuth // keyed by normalized user code
	access       map[string]*accessToken
	refresh      map[string]*refreshToken
}

var (
	_ op.Storage                    = (*storage)(nil)
	_ op.DeviceAuthorizationStorage = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest  = (*storage)(nil)
)

func newStorage(o Options) (*storage, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return &storage{
		client:       &client{idTokenLifetime: o.IDTokenLifetime},
		key:          key,
		keyID:        randomString(8),
		accessTTL:    o.AccessTokenLifetime,
		refreshTTL:   o.RefreshTokenLifetime,
		deviceTTL:    o.DeviceCodeLifetime,
		now:          time.Now,
		byDeviceCode: map[string]*deviceAuth{},
		byUserCode:   map[string]*deviceAuth{},
		access:       map[string]*accessToken{},
		refresh:      map[string]*refreshToken{},
	}, nil
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// normalizeUserCode turns "bcdf-ghjk", "BCDFGHJK" or " bcdf ghjk " into the
// map key "BCDFGHJK".
func normalizeUserCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

// --- device authorization -------------------------------------------------

func (s *storage) StoreDeviceAuthorization(_ context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked()
	key := normalizeUserCode(userCode)
	if _, ok := s.byUserCode[key]; ok {
		return op.ErrDuplicateUserCode
	}
	s.seq++
	d := &deviceAuth{
		seq:        s.seq,
		clientID:   clientID,
		deviceCode: deviceCode,
		userCode:   userCode,
		scopes:     slices.DeleteFunc(slices.Clone(scopes), func(sc string) bool { return !s.client.IsScopeAllowed(sc) }),
		expires:    expires,
	}
	s.byDeviceCode[deviceCode] = d
	s.byUserCode[key] = d
	return nil
}

// GetDeviceAuthorizatonState reports the state of a device code. An approved
// code is reported as done exactly once; op then issues tokens, and any
// later poll with the same code gets access_denied (op maps every storage
// error to access_denied).
func (s *storage) GetDeviceAuthorizatonState(_ context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byDeviceCode[deviceCode]
	if !ok || d.clientID != clientID {
		return nil, errors.New("unknown device code")
	}
	st := &op.DeviceAuthorizationState{
		ClientID: d.clientID,
		Scopes:   slices.Clone(d.scopes),
		Expires:  d.expires,
	}
	switch d.status {
	case deviceApproved:
		d.status = deviceConsumed
		st.Done, st.Subject, st.AuthTime = true, d.subject, d.authTime
	case deviceDenied:
		st.Denied = true
	case deviceConsumed:
		return nil, errors.New("device code already used")
	}
	return st, nil
}

// decide approves (subject != "") or denies (subject == "") a pending code.
func (s *storage) decide(userCode, subject string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byUserCode[normalizeUserCode(userCode)]
	switch {
	case !ok:
		return ErrUnknownUserCode
	case d.status != devicePending:
		return ErrUserCodeUsed
	case !s.now().Before(d.expires):
		return ErrExpiredUserCode
	}
	if subject == "" {
		d.status = deviceDenied
		return nil
	}
	d.status, d.subject, d.authTime = deviceApproved, subject, s.now()
	return nil
}

// pendingUserCodes lists undecided, unexpired user codes, oldest first.
func (s *storage) pendingUserCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var pending []*deviceAuth
	now := s.now()
	for _, d := range s.byUserCode {
		if d.status == devicePending && now.Before(d.expires) {
			pending = append(pending, d)
		}
	}
	slices.SortFunc(pending, func(a, b *deviceAuth) int { return cmp.Compare(a.seq, b.seq) })
	codes := make([]string, len(pending))
	for i, d := range pending {
		codes[i] = d.userCode
	}
	return codes
}

// purgeLocked drops device codes one lifetime after they expired (so that
// late polls still see expired_token) and expired tokens.
func (s *storage) purgeLocked() {
	now := s.now()
	for k, d := range s.byUserCode {
		if now.After(d.expires.Add(s.deviceTTL)) {
			delete(s.byUserCode, k)
			delete(s.byDeviceCode, d.deviceCode)
		}
	}
	for k, t := range s.access {
		if now.After(t.expires) {
			delete(s.access, k)
		}
	}
	for k, t := range s.refresh {
		if now.After(t.expires) {
			delete(s.refresh, k)
		}
	}
}

// --- tokens -----------------------------------------------------------------

// refreshRequest is what op gets back for a refresh token.
type refreshRequest struct {
	token  string
	rt     refreshToken
	scopes []string // current scopes; may be narrowed by the client
}

func (r *refreshRequest) GetAMR() []string            { return nil }
func (r *refreshRequest) GetAudience() []string       { return []string{r.rt.clientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.rt.authTime }
func (r *refreshRequest) GetClientID() string         { return r.rt.clientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.rt.subject }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, exp := s.newAccessLocked(req, "")
	return id, exp, nil
}

func (s *storage) newAccessLocked(req op.TokenRequest, refresh string) (string, time.Time) {
	id := randomString(16)
	exp := s.now().Add(s.accessTTL)
	s.access[id] = &accessToken{
		clientID: ClientID,
		subject:  req.GetSubject(),
		scopes:   slices.Clone(req.GetScopes()),
		expires:  exp,
		refresh:  refresh,
	}
	return id, exp
}

// CreateAccessAndRefreshTokens issues a new access token and a new refresh
// token. With a current refresh token it rotates: the current one is deleted
// and, should it already be gone (reused or revoked), the call fails with
// invalid_grant.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := refreshToken{clientID: ClientID, subject: req.GetSubject(), scopes: slices.Clone(req.GetScopes())}
	switch r := req.(type) {
	case *op.DeviceAuthorizationState:
		rt.clientID, rt.authTime = r.ClientID, r.AuthTime
	case *refreshRequest:
		if _, ok := s.refresh[current]; !ok || current != r.token {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token is no longer valid")
		}
		delete(s.refresh, current)
		rt = r.rt
	default:
		return "", "", time.Time{}, fmt.Errorf("demoidp: unexpected token request %T", req)
	}
	token := randomString(32)
	id, exp := s.newAccessLocked(req, token)
	rt.access, rt.expires = id, s.now().Add(s.refreshTTL)
	s.refresh[token] = &rt
	return id, token, exp, nil
}

func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[token]
	if !ok || !s.now().Before(rt.expires) {
		return nil, errors.New("unknown, revoked or expired refresh token")
	}
	return &refreshRequest{token: token, rt: *rt, scopes: slices.Clone(rt.scopes)}, nil
}

func (s *storage) GetRefreshTokenInfo(_ context.Context, clientID, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[token]
	if !ok || rt.clientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return rt.subject, token, nil
}

// RevokeToken revokes a refresh token (and the access token issued with it)
// or an access token by ID. Unknown tokens are not an error (RFC 7009 §2.2).
func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt, ok := s.refresh[tokenOrID]; ok {
		if rt.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was issued to another client")
		}
		delete(s.refresh, tokenOrID)
		delete(s.access, rt.access)
		return nil
	}
	if at, ok := s.access[tokenOrID]; ok {
		if at.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was issued to another client")
		}
		delete(s.access, tokenOrID)
	}
	return nil
}

func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.access {
		if t.subject == userID && t.clientID == clientID {
			delete(s.access, k)
		}
	}
	for k, t := range s.refresh {
		if t.subject == userID && t.clientID == clientID {
			delete(s.refresh, k)
		}
	}
	return nil
}

// validAccess returns a copy of a live access token.
func (s *storage) validAccess(id, subject string) (accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.access[id]
	if !ok || at.subject != subject || !s.now().Before(at.expires) {
		return accessToken{}, oidc.ErrInvalidRequest().WithDescription("access token is invalid, expired or revoked")
	}
	return *at, nil
}

// --- claims -----------------------------------------------------------------

// setUserinfo fills claims by scope: profile releases preferred_username,
// name and groups; email releases email and email_verified.
func setUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	u, ok := userBySubject(subject)
	if !ok {
		return fmt.Errorf("unknown subject %q", subject)
	}
	info.Subject = u.Subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.PreferredUsername = u.Username
		info.Name = u.Name
		info.AppendClaims("groups", slices.Clone(u.Groups))
	}
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = u.Email
		info.EmailVerified = oidc.Bool(u.EmailVerified)
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in op; SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return setUserinfo(info, req.GetSubject(), scopes)
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	at, err := s.validAccess(tokenID, subject)
	if err != nil {
		return err
	}
	return setUserinfo(info, at.subject, at.scopes)
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	at, err := s.validAccess(tokenID, subject)
	if err != nil {
		return err
	}
	info := new(oidc.UserInfo)
	if err := setUserinfo(info, at.subject, at.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Active = true
	resp.Scope = at.scopes
	resp.ClientID = at.clientID
	resp.Expiration = oidc.FromTime(at.expires)
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// --- clients and keys ---------------------------------------------------------

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	if clientID != ClientID {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client %q", clientID)
	}
	return s.client, nil
}

func (s *storage) AuthorizeClientIDSecret(context.Context, string, string) error {
	return oidc.ErrInvalidClient().WithDescription("no confidential clients are registered")
}

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

type publicKey struct {
	id  string
	key *rsa.PublicKey
}

func (k publicKey) ID() string                         { return k.id }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s.keyID, s.key}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.keyID, &s.key.PublicKey}}, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT profile client authentication is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// --- authorization code flow: not supported -----------------------------------

func (s *storage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, errAuthCodeFlow
}

func (s *storage) AuthRequestByID(context.Context, string) (op.AuthRequest, error) {
	return nil, errAuthCodeFlow
}

func (s *storage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, errAuthCodeFlow
}

func (s *storage) SaveAuthCode(context.Context, string, string) error { return errAuthCodeFlow }

func (s *storage) DeleteAuthRequest(context.Context, string) error { return errAuthCodeFlow }
