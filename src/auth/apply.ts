/**
 * The one entry point the gate calls, after the request is fully built (method, final
 * path and query, headers, body bytes): signers need the whole request. Returns what
 * to add or replace; `ownedNames` says which header and query names the auth sets, so
 * the gate drops (headers, audited) or refuses (query) any the agent sent.
 */
import { randomBytes } from 'node:crypto';
import { JaneeError } from '../errors.js';
import { injectCredential } from '../gate/inject.js';
import { assertHeaderSafe, optionalField, requireField } from './fields.js';
import { signHmac } from './hmac.js';
import { isFormContentType, oauth1aAuthorization } from './oauth1a.js';
import { appendQuery } from './query.js';
import { signAwsRequest } from './sigv4.js';
import { hmacTemplate, isMinted, type Applied, type AuthContext, type AuthRequest, type AuthSpec, type Owned } from './types.js';

const none = (): Owned => ({ headers: [], headerPrefixes: [], query: [], queryPrefixes: [] });

export function ownedNames(auth: AuthSpec): Owned {
  const o = none();
  switch (auth.type) {
    case 'bearer':
    case 'basic':
    case 'oauth1a':
      o.headers.push('authorization');
      if (auth.type === 'oauth1a') o.queryPrefixes.push('oauth_');
      break;
    case 'header':
      o.headers.push(auth.name.toLowerCase());
      break;
    case 'query':
      o.query.push(auth.param);
      break;
    case 'headers':
      o.headers.push(...Object.keys(auth.headers).map((n) => n.toLowerCase()));
      break;
    case 'aws-sigv4':
      o.headers.push('authorization', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token');
      // Presigned-URL parameters (X-Amz-Signature, X-Amz-Credential…) would compete with the header signature.
      o.queryPrefixes.push('x-amz-');
      break;
    case 'hmac': {
      const t = hmacTemplate(auth);
      o.headers.push(...Object.keys(t.headers).map((n) => n.toLowerCase()));
      o.query.push(...Object.keys(t.query ?? {}));
      break;
    }
    case 'oauth2':
    case 'github-app':
    case 'google-service-account':
      o.headers.push('authorization');
      break;
  }
  return o;
}

export function ownsHeader(o: Owned, lower: string): boolean {
  return o.headers.includes(lower) || o.headerPrefixes.some((p) => lower.startsWith(p));
}

export function ownsQueryParam(o: Owned, name: string): boolean {
  const lower = name.toLowerCase();
  return o.query.includes(name) || o.queryPrefixes.some((p) => lower.startsWith(p));
}

/** The default context: the real clock and random source. */
export function authContext(service: string, more: Partial<AuthContext> = {}): AuthContext {
  return { service, now: () => Date.now(), random: (n) => new Uint8Array(randomBytes(n)), ...more };
}

export async function applyAuth(
  auth: AuthSpec,
  fields: Readonly<Record<string, string>>,
  req: AuthRequest,
  ctx: AuthContext,
): Promise<Applied> {
  const service = ctx.service;
  switch (auth.type) {
    case 'bearer':
    case 'basic':
    case 'header':
    case 'query':
    case 'headers': {
      const inj = injectCredential(auth, fields, service);
      if (inj.queryParams.length === 0) return { headers: inj.headers };
      return { headers: inj.headers, query: appendQuery(req.query, inj.queryParams) };
    }
    case 'aws-sigv4': {
      const accessKeyId = requireField(fields, 'accessKeyId', service);
      const sessionToken = optionalField(fields, 'sessionToken');
      // Both are sent in headers (Authorization's Credential=, X-Amz-Security-Token).
      assertHeaderSafe(accessKeyId, service, 'accessKeyId');
      if (sessionToken !== undefined) assertHeaderSafe(sessionToken, service, 'sessionToken');
      return signAwsRequest(
        auth,
        { accessKeyId, secretAccessKey: requireField(fields, 'secretAccessKey', service), sessionToken },
        req,
        ctx.now(),
      );
    }
    case 'hmac':
      return signHmac(hmacTemplate(auth), fields, req, ctx.now(), service);
    case 'oauth1a': {
      const form = isFormContentType(req.headers['content-type']) && req.body !== undefined;
      const value = oauth1aAuthorization({
        method: req.method,
        origin: req.origin,
        path: req.path,
        query: req.query,
        formBody: form ? Buffer.from(req.body as Uint8Array).toString('utf8') : undefined,
        consumerKey: requireField(fields, 'consumerKey', service),
        consumerSecret: requireField(fields, 'consumerSecret', service),
        token: requireField(fields, 'accessToken', service),
        tokenSecret: requireField(fields, 'accessTokenSecret', service),
        nonce: Buffer.from(ctx.random(16)).toString('hex'),
        timestamp: String(Math.floor(ctx.now() / 1000)),
        version: true,
      });
      return { headers: { authorization: value } };
    }
    case 'oauth2':
    case 'github-app':
    case 'google-service-account': {
      if (!isMinted(auth) || ctx.tokens === undefined) {
        throw new JaneeError(
          'AUTH_UNSUPPORTED',
          `auth type ${auth.type} cannot mint tokens in this build`,
          'use a janee release that supports it, or another auth type',
        );
      }
      if (ctx.binding === undefined)
        throw new JaneeError('GATE_INTERNAL', 'no origin binding for a minted token', 'this is a bug in janee');
      const token = await ctx.tokens.token(service, auth, fields, { ...ctx.binding, force: ctx.force === true, rejected: ctx.rejected });
      return { headers: { authorization: `Bearer ${token}` }, secrets: [token] };
    }
  }
}
