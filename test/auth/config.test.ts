/**
 * config.yaml auth blocks of the signing and minting types: what each becomes, and the precise
 * message (file:line, the field) for each mistake, never repeating a value.
 */
import { describe, expect, it } from 'vitest';
import { parseAuthText, parseConfigText, validateConfig } from '../../src/config/load.js';
import { JaneeError } from '../../src/errors.js';
import { authFields, type AuthSpec } from '../../src/auth/types.js';

const FILE = '/home/u/.janee/config.yaml';
const load = (auth: string) =>
  validateConfig(parseConfigText(FILE, `services:\n  s:\n    baseUrl: https://api.example.com\n    auth: ${auth}\n`), FILE).services.get(
    's',
  )?.auth;

function fails(auth: string): JaneeError {
  try {
    load(auth);
  } catch (e) {
    expect(e).toBeInstanceOf(JaneeError);
    return e as JaneeError;
  }
  throw new Error(`accepted: ${auth}`);
}

describe('valid blocks', () => {
  const ok: [string, AuthSpec][] = [
    ['{ type: headers, headers: { X-Id: apiId, X-Key: apiKey } }', { type: 'headers', headers: { 'X-Id': 'apiId', 'X-Key': 'apiKey' } }],
    [
      '{ type: aws-sigv4, region: eu-west-1, service: s3, payload: unsigned }',
      { type: 'aws-sigv4', region: 'eu-west-1', service: 's3', payload: 'unsigned' },
    ],
    ['{ type: hmac, preset: okx }', { type: 'hmac', preset: 'okx' }],
    [
      '{ type: hmac, algorithm: sha512, encoding: hex, timestamp: iso, keyField: k, sign: [timestamp, body], headers: { X-S: signature }, query: { api_key: field:id } }',
      {
        type: 'hmac',
        algorithm: 'sha512',
        encoding: 'hex',
        timestamp: 'iso',
        keyField: 'k',
        sign: ['timestamp', 'body'],
        headers: { 'X-S': 'signature' },
        query: { api_key: 'field:id' },
      },
    ],
    ['oauth1a', { type: 'oauth1a' }],
    [
      '{ type: oauth2, grant: refresh_token, tokenUrl: "http://127.0.0.1:9/token", scopes: [a, b], clientAuth: body }',
      { type: 'oauth2', grant: 'refresh_token', tokenUrl: 'http://127.0.0.1:9/token', scopes: ['a', 'b'], clientAuth: 'body' },
    ],
    ['{ type: github-app, appId: 123456, installationId: "7890123" }', { type: 'github-app', appId: '123456', installationId: '7890123' }],
    [
      '{ type: google-service-account, scopes: [https://www.googleapis.com/auth/drive], subject: a@b.c }',
      { type: 'google-service-account', scopes: ['https://www.googleapis.com/auth/drive'], subject: 'a@b.c' },
    ],
  ];
  it.each(ok)('%s', (text, spec) => expect(load(text)).toEqual(spec));

  it('the field tables: which fields each type stores, which are files, which optional', () => {
    const names = (a: AuthSpec) => authFields(a).map((f) => `${f.name}${f.optional ? '?' : ''}${f.file ? `(${f.file})` : ''}`);
    expect(names({ type: 'aws-sigv4', region: 'us-east-1', service: 's3' })).toEqual(['accessKeyId', 'secretAccessKey', 'sessionToken?']);
    expect(names({ type: 'hmac', preset: 'okx' })).toEqual(['apiKey', 'apiSecret', 'passphrase']);
    expect(names({ type: 'oauth1a' })).toEqual(['consumerKey', 'consumerSecret', 'accessToken', 'accessTokenSecret']);
    expect(names({ type: 'headers', headers: { A: 'x', B: 'y', C: 'x' } })).toEqual(['x', 'y']);
    expect(names({ type: 'oauth2', grant: 'refresh_token', tokenUrl: 'https://x' })).toEqual(['clientId', 'clientSecret?', 'refreshToken']);
    expect(names({ type: 'github-app', appId: '1', installationId: '2' })).toEqual(['privateKey(pem)']);
    expect(names({ type: 'google-service-account', scopes: ['s'] })).toEqual(['credentials(json)']);
  });
});

describe('mistakes: CONFIG_INVALID at the line, naming the field', () => {
  const bad: [string, RegExp][] = [
    ['aws-sigv4', /auth type aws-sigv4 needs more than its name/],
    ['{ type: aws-sigv4, region: us-east-1 }', /services\.s\.auth: auth type aws-sigv4 needs service/],
    ['{ type: aws-sigv4, region: US_EAST, service: s3 }', /services\.s\.auth\.region: expected an AWS region name/],
    ['{ type: aws-sigv4, region: us-east-1, service: ses, payload: unsigned }', /auth\.payload: only S3 accepts an unsigned payload/],
    [
      '{ type: aws-sigv4, region: us-east-1, service: s3, awsService: s3 }',
      /auth\.awsService: unknown key \(expected one of: type, region, service, payload\)/,
    ],
    ['{ type: headers, headers: {} }', /auth\.headers: expected at least one header/],
    ['{ type: headers, headers: { Host: h } }', /auth\.headers\.Host: Host cannot carry a credential/],
    ['{ type: headers, headers: { X-A: a, x-a: b } }', /the same header is named twice/],
    ['{ type: hmac, preset: binance }', /auth\.preset: expected one of bybit, okx, mexc/],
    ['{ type: hmac, preset: okx, algorithm: sha256 }', /auth\.algorithm: a preset fixes the whole template/],
    [
      '{ type: hmac, algorithm: md5, encoding: hex, timestamp: ms, keyField: k, sign: [body], headers: { X-S: signature } }',
      /auth\.algorithm: expected one of sha256, sha512/,
    ],
    [
      '{ type: hmac, algorithm: sha256, encoding: hex, timestamp: ms, keyField: k, sign: [body, cookie], headers: { X-S: signature } }',
      /auth\.sign\[1\]: expected timestamp, method, path/,
    ],
    [
      '{ type: hmac, algorithm: sha256, encoding: hex, timestamp: ms, keyField: k, sign: [body], headers: { X-K: field:k } }',
      /exactly one header or query parameter \(found 0\)/,
    ],
    [
      '{ type: hmac, algorithm: sha256, encoding: hex, timestamp: ms, keyField: k, sign: [literal:x], headers: { X-S: signature } }',
      /sign nothing of the request/,
    ],
    ['{ type: oauth1a, realm: x }', /auth\.realm: unknown key \(expected one of: type\)/],
    ['{ type: oauth2, grant: password, tokenUrl: https://x.example/t }', /auth\.grant: expected one of client_credentials, refresh_token/],
    [
      '{ type: oauth2, grant: client_credentials, tokenUrl: "http://auth.example.com/t" }',
      /auth\.tokenUrl: must be an https URL \(http only to a loopback address\)/,
    ],
    ['{ type: github-app, appId: abc, installationId: 1 }', /auth\.appId: expected a number/],
    ['{ type: google-service-account, scopes: [] }', /auth\.scopes: expected a non-empty list of scopes/],
    ['{ type: google-service-account, scopes: ["a b"] }', /auth\.scopes\[0\]: a scope has no spaces/],
    ['{ type: kerberos }', /auth\.type: unknown auth type "kerberos" \(expected bearer, basic, header, query, headers, aws-sigv4/],
  ];
  it.each(bad)('%s', (text, message) => {
    const e = fails(text);
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message.startsWith(`${FILE}:4: `), e.message).toBe(true);
    expect(e.message).toMatch(message);
  });

  it('a secret written into a block is refused as inline, and no message repeats a value', () => {
    const inline = fails('{ type: aws-sigv4, region: us-east-1, service: s3, secret: wJalrXUtnFEMIK7MDENG }');
    expect(inline.code).toBe('CONFIG_INLINE_SECRET');
    for (const [text, value] of [
      ['{ type: aws-sigv4, region: "wJalrXUtnFEMI/K7MDENG", service: s3 }', 'wJalrXUtnFEMI/K7MDENG'],
      ['{ type: hmac, preset: "sk_live_51Habc" }', 'sk_live_51Habc'],
      ['{ type: headers, headers: { X-Key: "sk live 51Habc" } }', 'sk live 51Habc'],
      ['{ type: oauth2, grant: client_credentials, tokenUrl: "https://u:pw-9f8e7d@x.example/t" }', 'pw-9f8e7d'],
    ]) {
      const e = fails(text as string);
      expect(`${e.message} ${e.hint}`).not.toContain(value);
    }
  });
});

describe('--auth on the command line', () => {
  it('takes a block, validated the same way, as a usage error naming --auth', () => {
    expect(parseAuthText('{ type: aws-sigv4, region: us-east-1, service: s3 }')).toEqual({
      type: 'aws-sigv4',
      region: 'us-east-1',
      service: 's3',
    });
    let err: unknown;
    try {
      parseAuthText('{ type: aws-sigv4, region: us-east-1 }');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JaneeError);
    expect((err as JaneeError).code).toBe('USAGE');
    expect((err as JaneeError).exitCode).toBe(2);
    expect((err as JaneeError).message).toMatch(/^--auth:1: auth: auth type aws-sigv4 needs service/);
  });
});
