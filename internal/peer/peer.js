// idplug's conformance peer: panva's oidc-provider (OpenID Certified,
// RFC 8628) as three tenants on 127.0.0.1, plus the Cognito device-grant
// service, each on a free port.
//
//   keycloak  one oidc-provider at Keycloak's paths: issuer {url}/realms/{realm},
//             endpoints under /realms/{realm}/protocol/openid-connect/.
//   auth0     one oidc-provider at Auth0's paths (issuer {url}/ with a slash);
//             a shim gives Auth0's statuses and checks the audience.
//   cognito   one oidc-provider at the user pool domain's paths (/oauth2/…),
//             issuing Cognito's claims; it revokes refresh tokens only.
//   device    the device-grant service of aws-samples/cognito-device-grant-flow
//             in front of it: query-string API, "denied", errors as HTTP 400.
//
// What the shims fake, and nothing else: the oidc-provider instances do all
// the OAuth and OpenID Connect work and sign every token. The middleware adds
// `interval` to device authorization responses (oidc-provider omits it),
// rewrites statuses and error names as the real services send them, turns
// authorization_pending into slow_down on request, and can tamper with ID
// tokens so that tests see a verification failure.
//
// Usage: node peer.js '{"accessTokenTTL": 12, …}'. It prints one JSON line
// with the tenants' URLs once listening, and serves a control API under
// /_peer/ on every port (see control below). Options are documented in
// peer.go.

import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const opts = {
  realm: 'idplug',
  userPoolId: 'us-east-1_IdPlug',
  audience: 'https://api.idplug.test',
  groupsClaim: 'https://idplug.test/groups',
  clients: { keycloak: 'idplug-cli', auth0: 'Auth0IdplugCli', cognito: '1example23456789' },
  interval: 1, // seconds, in device authorization responses
  accessTokenTTL: 300, // seconds, access and ID tokens
  deviceCodeTTL: 600, // seconds, Keycloak's default code lifespan
  advertisedExpiresIn: 0, // when > 0, the expires_in devices are told
  ...JSON.parse(process.argv[2] || '{}'),
};

const GT_DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

// The directory: who may sign in, in each provider's claim shapes.
const users = {
  alice: {
    id: '2c2f7d3c-9b1e-4a55-8d8e-0f6f5c3a1b2d',
    given: 'Alice', family: 'Liddell', email: 'alice@example.com',
    groups: ['admins', 'dev'], roles: ['developer'],
  },
  bob: {
    id: '7d1e0a9f-3c4b-4d2e-9f8a-6b5c4d3e2f1a',
    given: 'Bob', family: 'Builder', email: 'bob@example.com', groups: [], roles: [],
  },
};
const fullName = (u) => `${u.given} ${u.family}`;

// A memory adapter that keeps everything for the life of the process, so
// that an expired device code is still found and answered expired_token
// (oidc-provider checks expiry itself) as Keycloak and Auth0 answer it.
function memoryAdapter() {
  const store = new Map();
  return class {
    constructor(name) { this.name = name; }

    key(id) { return `${this.name}:${id}`; }

    async upsert(id, payload) {
      store.set(this.key(id), payload);
      if (payload.userCode) store.set(this.key(`userCode:${payload.userCode}`), id);
      if (payload.uid) store.set(this.key(`uid:${payload.uid}`), id);
    }

    async find(id) { return store.get(this.key(id)); }

    async findByUserCode(code) { return this.find(store.get(this.key(`userCode:${code}`))); }

    async findByUid(uid) { return this.find(store.get(this.key(`uid:${uid}`))); }

    async consume(id) {
      const p = store.get(this.key(id));
      if (p) p.consumed = Math.floor(Date.now() / 1000);
    }

    async destroy(id) { store.delete(this.key(id)); }

    async revokeByGrantId(grantId) {
      for (const [k, v] of store) if (v?.grantId === grantId) store.delete(k);
    }
  };
}

// newProvider makes one oidc-provider tenant: t.claims (scope → claims),
// t.sub(user) and t.shape(user, use) (the subject and claims a provider
// emits), t.routes.
function newProvider(issuer, t) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };
  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    clients: [{
      client_id: t.clientId,
      token_endpoint_auth_method: 'none',
      grant_types: [GT_DEVICE, 'refresh_token'],
      response_types: [],
      redirect_uris: [],
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
    },
    conformIdTokenClaims: false, // scope claims in the ID token, as all three do
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: t.claims,
    // Accounts are known by the provider's subject (oidc-provider puts the
    // accountId in sub); the sign-in page takes login names, see below.
    findAccount: (_ctx, id) => {
      const u = Object.values(users).find((v) => t.sub(v) === id);
      return u && { accountId: id, claims: async (use) => t.shape(u, use) };
    },
    ttl: {
      AccessToken: opts.accessTokenTTL,
      IdToken: opts.accessTokenTTL,
      DeviceCode: opts.deviceCodeTTL,
      RefreshToken: 3600,
      Grant: 3600,
      Session: 3600,
      Interaction: 600,
    },
    routes: t.routes,
    rotateRefreshToken: t.rotateRefreshToken ?? (() => true),
    ...(t.issueRefreshToken ? { issueRefreshToken: t.issueRefreshToken } : {}),
  });
  // The development sign-in page takes any login: a user's name becomes
  // the subject this provider knows the user by.
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path.startsWith('/interaction/') && typeof ctx.req.body === 'string') {
      const form = new URLSearchParams(ctx.req.body);
      if (form.get('prompt') === 'login' && users[form.get('login')]) {
        form.set('login', t.sub(users[form.get('login')]));
        ctx.req.body = form.toString();
      }
    }
    return next();
  });
  return provider;
}

// tenant wires a provider to its wire shim and control state.
function tenant(name, provider, shim = {}) {
  const state = { name, provider, slowDown: 0, breakIDTokens: false, polls: 0, refreshes: 0, revocations: 0 };
  provider.use(async (ctx, next) => {
    const form = new URLSearchParams(typeof ctx.req.body === 'string' ? ctx.req.body : '');
    if (shim.before && await shim.before(ctx, form, state)) return;
    await next();
    const route = ctx.oidc?.route;
    if (route === 'device_authorization' && ctx.status === 200) {
      ctx.body.interval = opts.interval;
      if (opts.advertisedExpiresIn > 0) ctx.body.expires_in = opts.advertisedExpiresIn;
    }
    if (route === 'token') {
      if (form.get('grant_type') === GT_DEVICE) state.polls++;
      if (form.get('grant_type') === 'refresh_token') state.refreshes++;
      if (ctx.body?.error === 'authorization_pending' && state.slowDown > 0) {
        state.slowDown--;
        ctx.body = { error: 'slow_down', error_description: 'polling too fast' };
      }
      if (ctx.status === 200 && ctx.body?.id_token && state.breakIDTokens) {
        ctx.body.id_token = tamper(ctx.body.id_token);
      }
    }
    if (route === 'revocation') state.revocations++;
    if (shim.after) await shim.after(ctx, form, state);
  });
  return state;
}

// tamper changes the ID token's subject and keeps the signature, which no
// longer matches.
function tamper(jwt) {
  const [h, p, s] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.sub = 'mallory';
  return [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

// control answers /_peer/…: POST slow-down?count=N (the next N pending polls
// answer slow_down), POST break-id-tokens, GET stats, GET token?value=…
// (whether a refresh or access token is still active at the provider).
async function control(state, req, res, url) {
  const { provider } = state;
  switch (`${req.method} ${url.pathname}`) {
    case 'POST /_peer/slow-down':
      state.slowDown += Number(url.searchParams.get('count') || 1);
      return send(res, 200, {});
    case 'POST /_peer/break-id-tokens':
      state.breakIDTokens = true;
      return send(res, 200, {});
    case 'GET /_peer/stats':
      return send(res, 200, { polls: state.polls, refreshes: state.refreshes, revocations: state.revocations });
    case 'GET /_peer/token': {
      const v = url.searchParams.get('value');
      const found = provider && (await provider.RefreshToken.find(v) || await provider.AccessToken.find(v));
      return send(res, 200, { active: Boolean(found && !found.isExpired && !found.consumed) });
    }
    default:
      return send(res, 404, { error: 'no such control' });
  }
}

// listen serves handler on a free port of 127.0.0.1 and returns its origin.
function listen(handler) {
  const server = http.createServer((req, res) => {
    handler(req, res).catch((err) => {
      console.error(err);
      if (!res.headersSent) send(res, 500, { error: 'server_error', error_description: String(err) });
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
}

// serveProvider serves a tenant's provider under prefix, which is stripped
// as a framework's mount would: oidc-provider then builds its URLs with it.
function serveProvider(state, prefix = '') {
  const callback = state.provider.callback();
  return async (req, res) => {
    const url = new URL(req.url, 'http://peer');
    if (url.pathname.startsWith('/_peer/')) return control(state, req, res, url);
    if (req.method === 'POST') req.body = await readBody(req); // the shims read it too
    if (prefix) {
      if (!url.pathname.startsWith(`${prefix}/`)) return send(res, 404, { error: 'not found' });
      req.originalUrl = req.url;
      req.url = req.url.slice(prefix.length);
    }
    return callback(req, res);
  };
}

// The ports come first: issuers contain them.
const ports = {};
const handlers = {};
for (const name of ['keycloak', 'auth0', 'cognito', 'device']) {
  ports[name] = await listen((req, res) => handlers[name](req, res));
}

// Keycloak: groups from the Group Membership mapper (full paths) and the
// realm roles, both added to the ID token and userinfo.
{
  const prefix = `/realms/${opts.realm}`;
  const oidc = '/protocol/openid-connect';
  const provider = newProvider(ports.keycloak + prefix, {
    clientId: opts.clients.keycloak,
    claims: {
      openid: ['sub', 'groups', 'realm_access'],
      profile: ['name', 'preferred_username', 'given_name', 'family_name'],
      email: ['email', 'email_verified'],
    },
    sub: (u) => u.id,
    shape: (u) => ({
      preferred_username: Object.keys(users).find((k) => users[k] === u),
      name: fullName(u),
      given_name: u.given,
      family_name: u.family,
      email: u.email,
      email_verified: true,
      groups: u.groups.map((g) => `/${g}`),
      realm_access: { roles: ['offline_access', 'uma_authorization', `default-roles-${opts.realm}`, ...u.roles] },
    }),
    routes: {
      authorization: `${oidc}/auth`,
      device_authorization: `${oidc}/auth/device`,
      code_verification: '/device',
      token: `${oidc}/token`,
      userinfo: `${oidc}/userinfo`,
      revocation: `${oidc}/revoke`,
      end_session: `${oidc}/logout`,
      jwks: `${oidc}/certs`,
      introspection: `${oidc}/token/introspect`,
    },
  });
  handlers.keycloak = serveProvider(tenant('keycloak', provider), prefix);
}

// Auth0: statuses 403 (authorization_pending, access_denied, expired_token,
// invalid_grant) and 429 (slow_down); expired_token once per device code,
// invalid_grant after; the device-code request must name the API audience.
{
  const expiredOnce = new Set();
  const provider = newProvider(`${ports.auth0}/`, {
    clientId: opts.clients.auth0,
    claims: {
      openid: ['sub', opts.groupsClaim],
      profile: ['name', 'nickname', 'picture', 'updated_at'],
      email: ['email', 'email_verified'],
    },
    sub: (u) => `auth0|${u.id.replaceAll('-', '').slice(0, 24)}`,
    shape: (u) => ({
      nickname: u.email.split('@')[0],
      name: fullName(u),
      picture: `https://s.gravatar.com/avatar/${crypto.createHash('md5').update(u.email).digest('hex')}?s=480`,
      updated_at: '2025-01-01T00:00:00.000Z',
      email: u.email,
      email_verified: true,
      [opts.groupsClaim]: u.groups,
    }),
    routes: {
      authorization: '/authorize',
      device_authorization: '/oauth/device/code',
      code_verification: '/activate',
      token: '/oauth/token',
      userinfo: '/userinfo',
      revocation: '/oauth/revoke',
      end_session: '/oidc/logout',
      jwks: '/.well-known/jwks.json',
    },
  });
  const statuses = {
    authorization_pending: 403, slow_down: 429, access_denied: 403, expired_token: 403, invalid_grant: 403,
  };
  handlers.auth0 = serveProvider(tenant('auth0', provider, {
    before(ctx, form) {
      if (ctx.method !== 'POST') return false;
      if (ctx.path === '/oauth/device/code' && form.get('audience') !== opts.audience) {
        ctx.status = 403;
        ctx.body = { error: 'access_denied', error_description: `Service not found: ${form.get('audience') ?? ''}` };
        return true;
      }
      if (ctx.path === '/oauth/token' && expiredOnce.has(form.get('device_code'))) {
        ctx.status = 403;
        ctx.body = { error: 'invalid_grant', error_description: 'Invalid or expired device code.' };
        return true;
      }
      return false;
    },
    after(ctx, form) {
      const code = ctx.oidc?.route === 'token' && ctx.body?.error;
      if (!code) return;
      if (statuses[code]) ctx.status = statuses[code];
      if (code === 'expired_token') expiredOnce.add(form.get('device_code'));
    },
  }));
}

// Cognito's user pool domain: Cognito's claims (cognito:username and
// cognito:groups in the ID token; username and a string email_verified in
// userInfo), refresh without rotation and without a new refresh token,
// revocation of refresh tokens only (unsupported_token_type for an access
// token, which dies with its refresh token).
// Its own device flow is reachable only by the device-grant service.
let cognito;
{
  const pool = opts.userPoolId;
  const provider = newProvider(`${ports.cognito}/${pool}`, {
    clientId: opts.clients.cognito,
    claims: {
      openid: ['sub', 'cognito:username', 'cognito:groups', 'token_use', 'username'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    sub: (u) => u.id,
    shape: (u, use) => {
      const username = Object.keys(users).find((k) => users[k] === u);
      if (use === 'userinfo') {
        return { username, name: fullName(u), email: u.email, email_verified: 'true' };
      }
      return {
        'cognito:username': username, 'cognito:groups': u.groups, token_use: 'id',
        name: fullName(u), email: u.email, email_verified: true,
      };
    },
    routes: {
      authorization: '/oauth2/authorize',
      device_authorization: '/_device/code',
      code_verification: '/_device',
      token: '/oauth2/token',
      userinfo: '/oauth2/userInfo',
      revocation: '/oauth2/revoke',
      end_session: '/logout',
      jwks: `/${pool}/.well-known/jwks.json`,
    },
    rotateRefreshToken: () => false,
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  });
  const accessTokens = new Set(); // every one issued: Cognito revokes refresh tokens only
  cognito = tenant('cognito', provider, {
    before(ctx, form) {
      if (ctx.method === 'POST' && ctx.path === '/oauth2/revoke' && accessTokens.has(form.get('token'))) {
        ctx.status = 400;
        ctx.body = { error: 'unsupported_token_type' };
        return true;
      }
      return false;
    },
    after(ctx, form) {
      if (ctx.oidc?.route !== 'token' || ctx.status !== 200) return;
      accessTokens.add(ctx.body.access_token);
      if (form.get('grant_type') === 'refresh_token') delete ctx.body.refresh_token;
    },
  });
  handlers.cognito = serveProvider(cognito);
}

// The device-grant service (aws-samples/cognito-device-grant-flow,
// Modules/token-path.js): POST /token?client_id=… for codes, POST
// /token?client_id=…&device_code=…&grant_type=… to poll; every error a 400
// with authorization_pending, slow_down, denied or expired_token; an unknown
// client an empty 401, anything else an empty 405. Where the sample sends the
// user through the hosted UI and redeems an authorization code, this one
// runs the user pool's device flow on the user's behalf: its /device page
// leads to the user pool's sign-in, and it relays the user pool's tokens.
{
  const codes = new Map();
  const state = { slowDown: 0, polls: 0, refreshes: 0, revocations: 0 };
  handlers.device = async (req, res) => {
    const url = new URL(req.url, 'http://peer');
    const q = url.searchParams;
    if (url.pathname.startsWith('/_peer/')) return control(state, req, res, url);
    if (req.method === 'GET' && url.pathname === '/device') {
      const code = q.get('code');
      res.writeHead(302, { location: `${ports.cognito}/_device${code ? `?user_code=${encodeURIComponent(code)}` : ''}` });
      return res.end();
    }
    if (req.method !== 'POST' || url.pathname !== '/token') return send(res, 405);
    await readBody(req); // parameters come in the query string only
    if (q.get('client_id') !== opts.clients.cognito) return send(res, 401);
    const upstream = (path, form) => fetch(ports.cognito + path, { method: 'POST', body: new URLSearchParams(form) });

    if (!q.get('device_code') && !q.get('grant_type')) {
      const r = await upstream('/_device/code', { client_id: q.get('client_id'), scope: q.get('scope') || 'openid' });
      if (!r.ok) return send(res, 500);
      const d = await r.json();
      const deviceCode = crypto.randomBytes(24).toString('base64url');
      codes.set(deviceCode, { upstream: d.device_code, expires: Date.now() + opts.deviceCodeTTL * 1000, status: 'authorization_pending' });
      return send(res, 200, {
        device_code: deviceCode,
        user_code: d.user_code,
        verification_uri: `${ports.device}/device`,
        verification_uri_complete: `${ports.device}/device?code=${encodeURIComponent(d.user_code)}&authorize=true`,
        interval: opts.interval,
        expires_in: opts.advertisedExpiresIn > 0 ? opts.advertisedExpiresIn : opts.deviceCodeTTL,
      });
    }
    if (!q.get('device_code') || q.get('grant_type') !== GT_DEVICE) return send(res, 405);

    state.polls++;
    const entry = codes.get(q.get('device_code'));
    if (!entry || entry.status === 'expired') return send(res, 400, { error: 'expired_token' });
    if (Date.now() > entry.expires) {
      entry.status = 'expired';
      return send(res, 400, { error: 'expired_token' });
    }
    if (state.slowDown > 0) {
      state.slowDown--;
      return send(res, 400, { error: 'slow_down' });
    }
    const r = await upstream('/oauth2/token', { grant_type: GT_DEVICE, device_code: entry.upstream, client_id: q.get('client_id') });
    const b = await r.json();
    if (r.ok) {
      entry.status = 'expired'; // a device code gives tokens once
      return send(res, 200, {
        id_token: b.id_token, access_token: b.access_token, refresh_token: b.refresh_token, expires_in: b.expires_in,
      });
    }
    if (b.error === 'authorization_pending' || b.error === 'slow_down') return send(res, 400, { error: 'authorization_pending' });
    if (b.error === 'access_denied') return send(res, 400, { error: 'denied' });
    return send(res, 400, { error: 'expired_token' });
  };
}

console.log(JSON.stringify({ ...ports, ...opts }));
