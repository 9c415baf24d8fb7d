// An independent SMART-like authorization server for the integration tests: oidc-provider (a
// certified OpenID Connect implementation we did not write) with the few SMART additions a
// standalone launch needs. Our own fake EHR (src/practice) shares its authors' reading of the
// specs with the client; this peer does not.
//
// Usage: node server.mjs CONFIG.json, where CONFIG is
//   { "port": N, "clients": [ ...oidc-provider client metadata... ] }
// `port` 0 picks a free port. Listens on 127.0.0.1 only; issuer = FHIR base =
// http://127.0.0.1:PORT. Prints {"ready": true, "port": N} once listening; exits when stdin
// closes or on SIGTERM.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const ACCOUNT = 'practitioner-1';
const PATIENT = 'peer-patient-1';
const SMART_SCOPES = ['openid', 'fhirUser', 'launch', 'launch/patient', 'patient/*.read', 'offline_access'];

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port ?? 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

// A fresh id_token signing key per run (oidc-provider's built-in key is for quick starts only).
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  .export({ format: 'jwk' });

const registered = new Map(config.clients.map((c) => [c.client_id, c]));

const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...c,
  })),
  jwks: { keys: [{ ...signingKey, kid: 'peer-1', alg: 'RS256', use: 'sig' }] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  // Every SMART scope is a plain scope here; fhirUser also releases the fhirUser claim.
  scopes: SMART_SCOPES,
  claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
  // SMART puts fhirUser in the id_token from the token endpoint, not only at userinfo.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  enabledJWA: {
    clientAuthSigningAlgValues: ['RS256', 'RS384', 'ES256', 'ES384'],
    idTokenSigningAlgValues: ['RS256'],
  },
  // Refresh tokens for offline_access, public clients included (SMART permission-offline).
  issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token')
    && code.scopes.has('offline_access'),
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, fhirUser: `${issuer}/Practitioner/${sub}` }),
  }),
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, RefreshToken: 3600, Interaction: 600, Session: 600, Grant: 3600 },
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
});

// --- SMART additions, as Koa middleware in front of oidc-provider's router ---------------------

function smartConfiguration() {
  return {
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: SMART_SCOPES,
    capabilities: [
      'launch-standalone', 'client-public', 'client-confidential-symmetric',
      'client-confidential-asymmetric', 'sso-openid-connect', 'context-standalone-patient',
      'permission-offline', 'permission-patient', 'permission-v1',
    ],
  };
}

function fhirJson(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/fhir+json';
  ctx.body = body;
}

function outcome(code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: text }] };
}

const RESOURCES = {
  [`Patient/${PATIENT}`]: {
    resourceType: 'Patient', id: PATIENT, active: true,
    name: [{ use: 'official', given: ['Pia'], family: 'Peer' }],
    gender: 'female', birthDate: '1990-05-17',
  },
  [`Practitioner/${ACCOUNT}`]: {
    resourceType: 'Practitioner', id: ACCOUNT, active: true,
    name: [{ given: ['Otto'], family: 'Peer', prefix: ['Dr.'] }],
  },
};

// GET /Patient/{id}, /Practitioner/{id}: only with a live access token this provider issued.
async function fhirRead(ctx, path) {
  const [scheme, token] = (ctx.get('authorization') || '').split(' ');
  const found = scheme?.toLowerCase() === 'bearer' && token
    ? await provider.AccessToken.find(token) : undefined;
  if (!found || found.isExpired) {
    ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
    fhirJson(ctx, 401, outcome('login', 'missing, unknown or expired access token'));
    return;
  }
  const resource = RESOURCES[path];
  if (resource) fhirJson(ctx, 200, resource);
  else fhirJson(ctx, 404, outcome('not-found', `${path} is not known to the peer`));
}

// The scripted user: signs in as the fixed account and approves every requested scope.
async function approve(ctx) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const accountId = details.session?.accountId ?? ACCOUNT;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: details.params.client_id });
  if (details.params.scope) grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  const to = await provider.interactionResult(ctx.req, ctx.res, {
    login: { accountId },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(to);
}

// How the client actually authenticated at the token endpoint.
function usedMethod(ctx) {
  if (ctx.get('authorization')) return 'client_secret_basic';
  const params = ctx.oidc?.params ?? {};
  if (params.client_secret) return 'client_secret_post';
  if (params.client_assertion) return 'private_key_jwt';
  return 'none';
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/.well-known/smart-configuration') {
    ctx.body = smartConfiguration();
    return;
  }
  const read = /^\/((?:Patient|Practitioner)\/[A-Za-z0-9\-.]{1,64})$/.exec(ctx.path);
  if (ctx.method === 'GET' && read) {
    await fhirRead(ctx, read[1]);
    return;
  }
  if (ctx.method === 'GET' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
    await approve(ctx);
    return;
  }
  if (ctx.method === 'GET' && ctx.path === '/auth' && ctx.query.aud !== issuer) {
    // SMART: aud must name this server's FHIR base; oidc-provider itself ignores it.
    ctx.status = 400;
    ctx.body = { error: 'invalid_request', error_description: `aud ${ctx.query.aud} is not ${issuer}` };
    return;
  }
  if (ctx.method === 'GET' && ctx.path === '/auth' && /(^| )offline_access( |$)/.test(ctx.query.scope ?? '')
      && ctx.query.prompt === undefined) {
    // OpenID Connect Core §11 ignores offline_access without prompt=consent; SMART grants it
    // on request. The scripted consent runs anyway, so asking for it changes nothing else.
    ctx.query = { ...ctx.query, prompt: 'consent' };
  }
  await next();
  if (ctx.oidc?.route === 'token' && ctx.status === 200 && ctx.body) {
    // oidc-provider accepts Basic and post interchangeably; a strict EHR does not.
    const expected = registered.get(ctx.oidc.client?.clientId)?.token_endpoint_auth_method;
    const used = usedMethod(ctx);
    if (expected && expected !== used) {
      ctx.status = 401;
      ctx.body = {
        error: 'invalid_client',
        error_description: `client registered for ${expected} authenticated with ${used}`,
      };
      return;
    }
    const scopes = (ctx.body.scope ?? '').split(' ');
    if (ctx.oidc.params.grant_type === 'authorization_code' && scopes.includes('launch/patient')) {
      ctx.body = { ...ctx.body, patient: PATIENT, need_patient_banner: true };
    }
  }
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);

function stop() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
