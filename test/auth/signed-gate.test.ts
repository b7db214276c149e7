/**
 * The signing auth types end to end: services added with the BUILT `janee add` (secrets on
 * stdin, one per line), calls made through `janee serve` with the MCP SDK client, a loopback
 * upstream on port 0 that echoes what it got, and every signature re-checked here by code
 * written apart from src/auth (aws4 for SigV4; the exchanges' recipes; RFC 5849 for OAuth 1.0a).
 * Then: agent-sent auth headers dropped and audited, signed query names refused, and no secret
 * in any form in a file, an output, the audit log or a tool result.
 */
import { createHash, createHmac } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import aws4 from 'aws4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, listFiles, runJanee, type JaneeEnv } from '../helpers/cli.js';
import { startUpstream, type RecordedRequest, type Upstream } from '../helpers/upstream.js';
import { callTool, leaksIn, startServe, type Served } from '../ci/mcp.js';

const SECRETS = {
  multi: ['client-id-7d41f0c2a9', 'client-secret-0f9a8b7c6d5e4f3a'],
  s3: ['AKIAFAKEEXAMPLE7Q2Z', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYfakeS3KEY', ''],
  ses: ['ASIAFAKEEXAMPLE9K3M', 'sesSecretAccessKey/+fake0123456789abcd', 'IQoJb3JpZ2luX2VjEFAKE+session/token=='],
  bybit: ['bybit-api-key-4Xk9Qm', 'bybit-api-secret-7Hq2Lp9Zr4'],
  okx: ['okx-api-key-2c9e1a77', 'okx-api-secret-B1C4D9E2F7', 'okx-pass-phrase-81'],
  mexc: ['mx0aFAKEkey33eIilx', 'mexc-secret-45d0b3c26f2644f1'],
  custom: ['custom-client-77aa', 'custom-hmac-key-91bb02cc'],
  twitter: ['tw-consumer-key-xvz1evFS4', 'tw-consumer-secret-kAcSOqF21', 'tw-access-token-370773112-Gm', 'tw-access-secret-LswwdoUaIv'],
};
const ALL = Object.values(SECRETS)
  .flat()
  .filter((s) => s !== '');

const AUTH: Record<keyof typeof SECRETS, string> = {
  multi: '{ type: headers, headers: { X-Client-Id: clientId, X-Client-Secret: clientSecret } }',
  s3: '{ type: aws-sigv4, region: us-east-1, service: s3 }',
  ses: '{ type: aws-sigv4, region: eu-west-1, service: ses }',
  bybit: 'hmac-bybit',
  okx: 'hmac-okx',
  mexc: 'hmac-mexc',
  custom:
    '{ type: hmac, algorithm: sha512, encoding: base64, timestamp: s, keyField: hmacKey, sign: [method, "literal:|", pathquery, "literal:|", timestamp, "literal:|", body], headers: { X-Client: field:client, X-Time: timestamp, X-Signature: signature } }',
  twitter: 'oauth1a',
};

let env: JaneeEnv;
let up: Upstream;
let serve: Served;
const outputs: string[] = [];

beforeAll(async () => {
  env = await initHome();
  up = await startUpstream();
  for (const [name, auth] of Object.entries(AUTH)) {
    const lines = SECRETS[name as keyof typeof SECRETS];
    const r = await runJanee(['add', name, '--base-url', `${up.url}/${name}`, '--auth', auth, '--key-stdin'], {
      env,
      input: lines.join('\n'),
    });
    outputs.push(r.stdout, r.stderr);
    expect(r.code, r.stderr).toBe(0);
  }
  serve = await startServe(env);
}, 60_000);

afterAll(async () => {
  await serve?.close();
  await up?.close();
  await cleanupTempHomes();
});

async function call(args: Record<string, unknown>) {
  const r = await callTool(serve, 'execute', args);
  outputs.push(r.text, JSON.stringify(r.structured ?? null));
  return r;
}

function last(): RecordedRequest {
  return up.requests[up.requests.length - 1] as RecordedRequest;
}

const h = (rec: RecordedRequest, name: string): string => String(rec.headers[name] ?? '');
const hmacOf = (alg: string, key: string, data: string | Buffer, enc: 'hex' | 'base64') => createHmac(alg, key).update(data).digest(enc);
const queryOf = (rec: RecordedRequest) => (rec.url.includes('?') ? rec.url.slice(rec.url.indexOf('?') + 1) : '');
const pathOf = (rec: RecordedRequest) => rec.url.split('?')[0] as string;

describe('each type signs so that the upstream can verify it', () => {
  it('headers: both headers, from their fields', async () => {
    const r = await call({ service: 'multi', method: 'GET', path: '/me' });
    expect(r.isError, r.text).toBe(false);
    expect(h(last(), 'x-client-id')).toBe(SECRETS.multi[0]);
    expect(h(last(), 'x-client-secret')).toBe(SECRETS.multi[1]);
  });

  /** aws4 recomputes the signature from what the upstream received. */
  function checkSigV4(rec: RecordedRequest, region: string, service: string, creds: { accessKeyId: string; secretAccessKey: string }) {
    const auth = h(rec, 'authorization');
    const signed = (/SignedHeaders=([^,]+)/.exec(auth) as RegExpExecArray)[1]!.split(';');
    expect(signed).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-content-sha256']));
    const headers: Record<string, string> = {};
    for (const n of signed) headers[n] = h(rec, n);
    const signer = new aws4.RequestSigner(
      { service, region, method: rec.method, host: h(rec, 'host'), path: rec.url, headers, body: rec.body, doNotModifyHeaders: true },
      creds,
    );
    signer.datetime = h(rec, 'x-amz-date');
    expect(auth).toBe(signer.sign().headers['Authorization']);
    expect(auth).toContain(`Credential=${creds.accessKeyId}/${h(rec, 'x-amz-date').slice(0, 8)}/${region}/${service}/aws4_request`);
  }

  it('aws-sigv4 (S3): a key with non-ASCII, spaces and reserved characters, the payload hash signed', async () => {
    const r = await call({
      service: 's3',
      method: 'PUT',
      path: '/bucket/ph%C3%B6to%20(1)%2Bx.txt',
      query: { 'x-id': 'PutObject' },
      body: 'hello',
    });
    expect(r.isError, r.text).toBe(false);
    const rec = last();
    expect(pathOf(rec)).toBe('/s3/bucket/ph%C3%B6to%20(1)%2Bx.txt');
    expect(h(rec, 'x-amz-content-sha256')).toBe(createHash('sha256').update('hello').digest('hex'));
    checkSigV4(rec, 'us-east-1', 's3', { accessKeyId: SECRETS.s3[0]!, secretAccessKey: SECRETS.s3[1]! });
    expect(rec.headers['x-amz-security-token']).toBeUndefined();
  });

  it('aws-sigv4 (SES, session token): a form POST, the token sent and signed', async () => {
    const r = await call({
      service: 'ses',
      method: 'POST',
      path: '/',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'Action=SendEmail&Source=a%40example.com',
    });
    expect(r.isError, r.text).toBe(false);
    const rec = last();
    expect(h(rec, 'x-amz-security-token')).toBe(SECRETS.ses[2]);
    expect(h(rec, 'authorization')).toMatch(/SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/);
    checkSigV4(rec, 'eu-west-1', 'ses', { accessKeyId: SECRETS.ses[0]!, secretAccessKey: SECRETS.ses[1]! });
  });

  it('hmac bybit: timestamp + key + recv_window + query (GET) / body (POST)', async () => {
    await call({ service: 'bybit', method: 'GET', path: '/v5/account/wallet-balance', query: { accountType: 'UNIFIED', coin: 'BTC' } });
    let rec = last();
    expect(h(rec, 'x-bapi-api-key')).toBe(SECRETS.bybit[0]);
    expect(h(rec, 'x-bapi-recv-window')).toBe('5000');
    const ts = h(rec, 'x-bapi-timestamp');
    expect(Math.abs(Number(ts) - Date.now())).toBeLessThan(60_000);
    expect(h(rec, 'x-bapi-sign')).toBe(hmacOf('sha256', SECRETS.bybit[1]!, `${ts}${SECRETS.bybit[0]}5000${queryOf(rec)}`, 'hex'));
    await call({ service: 'bybit', method: 'POST', path: '/v5/order/create', body: { category: 'spot', symbol: 'BTCUSDT', qty: '0.1' } });
    rec = last();
    expect(h(rec, 'x-bapi-sign')).toBe(
      hmacOf(
        'sha256',
        SECRETS.bybit[1]!,
        Buffer.concat([Buffer.from(`${h(rec, 'x-bapi-timestamp')}${SECRETS.bybit[0]}5000`), rec.body]),
        'hex',
      ),
    );
  });

  it('hmac okx: ISO timestamp + method + path?query + body, base64; passphrase header', async () => {
    await call({ service: 'okx', method: 'GET', path: '/api/v5/account/balance', query: { ccy: 'BTC' } });
    const rec = last();
    const ts = h(rec, 'ok-access-timestamp');
    expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(h(rec, 'ok-access-sign')).toBe(hmacOf('sha256', SECRETS.okx[1]!, `${ts}GET${rec.url}`, 'base64'));
    expect(h(rec, 'ok-access-passphrase')).toBe(SECRETS.okx[2]);
    expect(rec.url).toBe('/okx/api/v5/account/balance?ccy=BTC');
  });

  it('hmac mexc: timestamp then signature appended to the query, HMAC of the query before it', async () => {
    await call({ service: 'mexc', method: 'GET', path: '/api/v3/account', query: { recvWindow: '5000' } });
    const rec = last();
    const q = queryOf(rec);
    const m = /^(recvWindow=5000&timestamp=\d{13})&signature=([0-9a-f]{64})$/.exec(q);
    expect(m, q).not.toBeNull();
    expect(m![2]).toBe(hmacOf('sha256', SECRETS.mexc[1]!, m![1]!, 'hex'));
    expect(h(rec, 'x-mexc-apikey')).toBe(SECRETS.mexc[0]);
  });

  it('hmac, a template written out in the --auth block', async () => {
    await call({ service: 'custom', method: 'PATCH', path: '/v2/items/9', query: { dry: '1' }, body: '{"a":1}' });
    const rec = last();
    const ts = h(rec, 'x-time');
    expect(String(Math.floor(Date.now() / 1000) - Number(ts)).length).toBeLessThan(4);
    expect(h(rec, 'x-client')).toBe(SECRETS.custom[0]);
    expect(h(rec, 'x-signature')).toBe(hmacOf('sha512', SECRETS.custom[1]!, `PATCH|${rec.url}|${ts}|{"a":1}`, 'base64'));
  });

  it('oauth1a: HMAC-SHA1 over the query and the form body (RFC 5849 §3.4, recomputed here)', async () => {
    const r = await call({
      service: 'twitter',
      method: 'POST',
      path: '/1.1/statuses/update.json',
      query: { include_entities: 'true' },
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21',
    });
    expect(r.isError, r.text).toBe(false);
    const rec = last();
    const header = h(rec, 'authorization');
    expect(header.startsWith('OAuth ')).toBe(true);
    const params = new Map(
      [...header.slice(6).matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1] as string, decodeURIComponent(m[2] as string)]),
    );
    expect(params.get('oauth_consumer_key')).toBe(SECRETS.twitter[0]);
    expect(params.get('oauth_token')).toBe(SECRETS.twitter[2]);
    expect(params.get('oauth_signature_method')).toBe('HMAC-SHA1');
    expect(params.get('oauth_version')).toBe('1.0');
    // RFC 5849 §3.4.1, written from the RFC: collect, percent-encode, sort, join.
    const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const pairs: [string, string][] = [];
    for (const part of [queryOf(rec), rec.body.toString('utf8')])
      for (const [k, v] of new URLSearchParams(part)) pairs.push([enc(k), enc(v)]);
    for (const [k, v] of params) if (k !== 'oauth_signature') pairs.push([enc(k), enc(v)]);
    pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
    const base = ['POST', enc(`http://${h(rec, 'host')}${pathOf(rec)}`), enc(pairs.map(([k, v]) => `${k}=${v}`).join('&'))].join('&');
    expect(params.get('oauth_signature')).toBe(hmacOf('sha1', `${enc(SECRETS.twitter[1]!)}&${enc(SECRETS.twitter[3]!)}`, base, 'base64'));
  });
});

describe('the agent cannot set what the auth owns', () => {
  it('auth and signature headers sent by the agent are dropped, and the audit names them', async () => {
    const r = await call({
      service: 's3',
      method: 'GET',
      path: '/bucket/x',
      headers: {
        Authorization: 'AWS4-HMAC-SHA256 evil',
        'X-Amz-Date': '20000101T000000Z',
        'x-amz-security-token': 'evil',
        'x-amz-meta-note': 'kept',
      },
    });
    expect(r.isError, r.text).toBe(false);
    const rec = last();
    expect(h(rec, 'x-amz-date')).not.toBe('20000101T000000Z');
    expect(rec.headers['x-amz-security-token']).toBeUndefined();
    expect(h(rec, 'x-amz-meta-note')).toBe('kept'); // other x-amz- headers are the agent's, and signed
    expect(h(rec, 'authorization')).toContain('x-amz-meta-note');
    await checkAudit('s3', /dropped agent auth headers: authorization, x-amz-date, x-amz-security-token/);

    await call({ service: 'bybit', method: 'GET', path: '/v5/x', headers: { 'X-BAPI-SIGN': 'evil', 'x-bapi-timestamp': '1' } });
    expect(h(last(), 'x-bapi-sign')).not.toBe('evil');
    expect(h(last(), 'x-bapi-timestamp')).not.toBe('1');
    await checkAudit('bybit', /dropped agent auth headers: x-bapi-sign, x-bapi-timestamp/);
  });

  it('signed query parameters sent by the agent are refused (nothing is sent)', async () => {
    const before = up.requests.length;
    for (const [service, query] of [
      ['mexc', { signature: 'evil' }],
      ['mexc', { timestamp: '1' }],
      ['twitter', { oauth_nonce: 'x' }],
      ['s3', { 'X-Amz-Signature': 'x' }],
    ] as const) {
      const r = await call({ service, method: 'GET', path: '/x', query });
      expect(r.isError).toBe(true);
      expect(r.text).toMatch(/reserved for the credential/);
    }
    const form = await call({
      service: 'twitter',
      method: 'POST',
      path: '/x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'oauth_token=mine',
    });
    expect(form.isError).toBe(true);
    expect(form.text).toMatch(/reserved for the OAuth signature/);
    expect(up.requests.length).toBe(before);
    await checkAudit('mexc', /^reserved query parameter: signature$/);
  });
});

async function checkAudit(service: string, rule: RegExp): Promise<void> {
  const dir = path.join(env.JANEE_HOME, 'audit');
  const text = (
    await Promise.all((await fs.readdir(dir)).filter((f) => f.endsWith('.jsonl')).map((f) => fs.readFile(path.join(dir, f), 'utf8')))
  ).join('');
  const lines = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { service: string; rule?: string });
  expect(lines.filter((l) => l.service === service).some((l) => rule.test(l.rule ?? ''))).toBe(true);
}

describe('no secret anywhere', () => {
  it('an upstream that echoes every header and the body gets back only redactions', async () => {
    for (const service of Object.keys(SECRETS)) {
      const r = await call({ service, method: 'POST', path: '/echo', body: 'x=1' });
      expect(r.isError, r.text).toBe(false);
      expect(r.text).toContain('[REDACTED:');
    }
  });

  it('not in the home directory, the CLI output, serve stderr, the audit log or any tool result', async () => {
    const blobs: [string, string | Buffer][] = [
      ['outputs', outputs.join('\n')],
      ['serve stderr', serve.stderr()],
    ];
    for (const f of await listFiles(env.JANEE_HOME)) blobs.push([f, await fs.readFile(path.join(env.JANEE_HOME, f))]);
    expect(blobs.map(([n]) => n)).toEqual(expect.arrayContaining(['config.yaml']));
    for (const [name, blob] of blobs) for (const s of ALL) expect(leaksIn(blob, s), `${s} in ${name}`).toEqual([]);
  });
});
