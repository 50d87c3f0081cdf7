// GitLab: an instance at GitLab's paths (doorkeeper and its device grant
// extension): issuer the origin without a trailing slash, /oauth/… for
// everything, discovery at /.well-known/openid-configuration without a
// device_authorization_endpoint or an end_session_endpoint, as GitLab's
// has none. sub is the numeric user id as a string, nickname the username;
// groups (every group's full path) in userinfo only, groups_direct in both.
// A refresh token with every token answer, offline_access or not, rotated
// on refresh; created_at in token answers. Errors are oidc-provider's own:
// HTTP 400 with RFC names, as doorkeeper answers.

import {
  alwaysRefresh, attach, fullName, login, newProvider, newState, opts, serveProvider,
} from '../common.js';

// A user's GitLab groups: full paths, the direct memberships and their
// ancestors.
const direct = (u) => u.groups.map((g) => `idplug/${g}`);
const all = (u) => (u.groups.length ? ['idplug', ...direct(u)] : []);

export default async function gitlab({ origin }) {
  const provider = await newProvider(origin, {
    clients: [{ client_id: opts.clients.gitlab }],
    claims: {
      openid: ['sub', 'sub_legacy', 'groups', 'groups_direct'],
      profile: ['name', 'nickname', 'preferred_username', 'website', 'profile', 'picture'],
      email: ['email', 'email_verified'],
    },
    sub: (u) => u.gitlabId,
    shape: (u, use) => {
      const idToken = {
        sub_legacy: Buffer.from(u.id).toString('hex').slice(0, 64),
        email: u.email,
        email_verified: true,
        groups_direct: direct(u),
      };
      if (use !== 'userinfo') return idToken;
      return {
        ...idToken,
        name: fullName(u),
        nickname: login(u),
        preferred_username: login(u),
        profile: `${origin}/${login(u)}`,
        picture: `${origin}/uploads/-/system/user/avatar/${u.gitlabId}/avatar.png`,
        groups: all(u),
      };
    },
    routes: {
      authorization: '/oauth/authorize',
      device_authorization: '/oauth/authorize_device',
      code_verification: '/oauth/device',
      token: '/oauth/token',
      userinfo: '/oauth/userinfo',
      revocation: '/oauth/revoke',
      introspection: '/oauth/introspect',
      jwks: '/oauth/discovery/keys',
    },
    issueRefreshToken: alwaysRefresh,
  });
  const state = attach(newState('gitlab'), provider, {
    after(ctx) {
      const route = ctx.oidc?.route;
      if (route === 'discovery') {
        delete ctx.body.device_authorization_endpoint;
        delete ctx.body.end_session_endpoint;
      }
      if (route === 'token' && ctx.status === 200) ctx.body.created_at = Math.floor(Date.now() / 1000);
    },
  });
  return { handler: serveProvider(state, provider) };
}
