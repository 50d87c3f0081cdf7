// Keycloak: a realm at Keycloak's paths, issuer {url}/realms/{realm},
// endpoints under /realms/{realm}/protocol/openid-connect/. Groups from the
// Group Membership mapper (full paths) and the realm roles, both in the ID
// token and userinfo. Two clients: idplug-cli, and idplug-pkce whose
// "PKCE Method" is S256. PKCE on the device grant as Keycloak does it: a
// code_challenge on the device request binds the device code to it; once
// the user approved, a poll without the matching code_verifier answers
// invalid_grant and leaves the device code usable.

import {
  GT_DEVICE, attach, fullName, login, newProvider, newState, opts, pkce, serveProvider,
} from '../common.js';

export default async function keycloak({ origin }) {
  const prefix = `/realms/${opts.realm}`;
  const oidc = '/protocol/openid-connect';
  const provider = await newProvider(origin + prefix, {
    clients: [{ client_id: opts.clients.keycloak }, { client_id: opts.clients['keycloak-pkce'] }],
    claims: {
      openid: ['sub', 'groups', 'realm_access'],
      profile: ['name', 'preferred_username', 'given_name', 'family_name'],
      email: ['email', 'email_verified'],
    },
    sub: (u) => u.id,
    shape: (u) => ({
      preferred_username: login(u),
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
  const required = { [opts.clients['keycloak-pkce']]: 'S256' }; // clients' "PKCE Method"
  const challenges = new Map(); // device_code → {challenge, method}
  const invalid = (ctx, description) => {
    ctx.status = 400;
    ctx.body = { error: 'invalid_request', error_description: description };
    return true;
  };
  const state = attach(newState('keycloak'), provider, {
    async before(ctx, form) {
      if (ctx.method !== 'POST') return false;
      if (ctx.path === `${oidc}/auth/device`) {
        const err = pkce.challengeError(form, required[form.get('client_id')]);
        return Boolean(err) && invalid(ctx, err);
      }
      if (ctx.path === `${oidc}/token` && form.get('grant_type') === GT_DEVICE) {
        // Keycloak checks PKCE once the user has approved, before it
        // consumes the device code.
        const code = await provider.DeviceCode.find(form.get('device_code') || '').catch(() => undefined);
        if (!code || code.isExpired || code.error || !code.accountId || code.consumed) return false;
        const err = pkce.verifierError(form.get('code_verifier'), challenges.get(form.get('device_code')));
        if (!err) return false;
        state.polls++;
        ctx.status = 400;
        ctx.body = { error: 'invalid_grant', error_description: err };
        return true;
      }
      return false;
    },
    after(ctx, form) {
      if (ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && form.get('code_challenge')) {
        challenges.set(ctx.body.device_code, {
          challenge: form.get('code_challenge'), method: form.get('code_challenge_method') || 'plain',
        });
      }
    },
  });
  return { handler: serveProvider(state, provider, prefix) };
}
