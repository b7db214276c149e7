/**
 * SigV4 against AWS's published test suite (fixtures/aws-sig-v4-test-suite, see its README) and
 * against an independent implementation, the `aws4` package, on random requests.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import aws4 from 'aws4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authorization, canonicalRequest, canonicalUri, signAwsRequest, stringToSign } from '../../src/auth/sigv4.js';
import type { AuthRequest } from '../../src/auth/types.js';
import { REPO_ROOT } from '../helpers/cli.js';

const SUITE = path.join(REPO_ROOT, 'fixtures', 'aws-sig-v4-test-suite');
const KEY = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
  service: 'service',
  datetime: '20150830T123600Z',
};

function cases(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) return cases(p);
    return n.endsWith('.req') ? [p.slice(0, -4)] : [];
  });
}

/** A .req file: request line, headers (continuation lines are further values, as the suite means), blank line, body. */
function parseReq(text: string) {
  const [head, ...rest] = text.split('\n\n');
  const lines = (head as string).split('\n');
  const first = lines[0] as string;
  const method = first.slice(0, first.indexOf(' '));
  const target = first.slice(method.length + 1, first.lastIndexOf(' '));
  const q = target.indexOf('?');
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (/^\s/.test(line) && headers.length > 0) headers.push([(headers[headers.length - 1] as [string, string])[0], line]);
    else headers.push([line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]);
  }
  return { method, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), headers, body: rest.join('\n\n') };
}

describe('AWS SigV4 test suite', () => {
  const all = cases(SUITE);
  it('has the suite', () => expect(all.length).toBeGreaterThanOrEqual(30));
  for (const c of all) {
    it(path.relative(SUITE, c), () => {
      const req = parseReq(readFileSync(`${c}.req`, 'utf8'));
      const payloadHash = createHash('sha256').update(req.body).digest('hex');
      const r = { method: req.method, path: req.path, query: req.query, headers: req.headers, payloadHash };
      const cr = canonicalRequest(r, false);
      expect(cr.text).toBe(readFileSync(`${c}.creq`, 'utf8'));
      expect(stringToSign(cr.text, KEY)).toBe(readFileSync(`${c}.sts`, 'utf8'));
      expect(authorization(r, KEY).authorization).toBe(readFileSync(`${c}.authz`, 'utf8'));
    });
  }
});

// ---------------------------------------------------------------------------
// Random requests: our signer (as the gate calls it) against aws4

/** A path segment as sent: percent-encoded text that may hold any Unicode, reserved and unreserved characters. */
const segment = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).map(encodeURIComponent),
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*,;=:@-]{1,8}$/).filter((s) => s !== '.' && s !== '..'),
);
const qtext = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 8 }).map(encodeURIComponent),
  fc.stringMatching(/^[A-Za-z0-9._~-]{0,8}$/),
  fc.constantFrom('a+b', '%2B', 'x%20y', "it's"),
);

const request = fc.record({
  service: fc.constantFrom('s3', 'ses', 'execute-api', 'dynamodb'),
  region: fc.constantFrom('us-east-1', 'eu-west-3', 'ap-southeast-2'),
  method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD'),
  segments: fc.array(segment, { maxLength: 5 }),
  trailingSlash: fc.boolean(),
  query: fc.uniqueArray(fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.~-]{0,6}$/), qtext), { maxLength: 5, selector: ([k]) => k }),
  body: fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: undefined }),
  contentType: fc.option(fc.constantFrom('application/json', 'application/x-amz-json-1.0', 'text/plain;  charset=utf-8'), {
    nil: undefined,
  }),
  target: fc.option(fc.constantFrom('DynamoDB_20120810.ListTables', 'AWSCognito.GetId'), { nil: undefined }),
  sessionToken: fc.option(fc.stringMatching(/^[A-Za-z0-9+/=]{20,60}$/), { nil: undefined }),
  unsigned: fc.boolean(),
  now: fc.integer({ min: Date.UTC(2015, 0, 1), max: Date.UTC(2035, 0, 1) }),
  port: fc.constantFrom(undefined, 8443),
});

describe('AWS SigV4 against the aws4 package', () => {
  it('an S3 key with an encoded slash (%2F) signs its slash unencoded, as aws4 does (a seed found this)', () => {
    expect(canonicalUri('/bucket/a%2Fb', true)).toBe('/bucket/a/b');
    expect(canonicalUri('/%2F', true)).toBe('//');
    // Other services encode what they were sent, once more.
    expect(canonicalUri('/a%2Fb', false)).toBe('/a%252Fb');
  });

  it('the same Authorization header for random requests (Unicode, reserved characters, S3 and not)', () => {
    fc.assert(
      fc.property(request, (r) => {
        const p = `/${r.segments.join('/')}${r.trailingSlash && r.segments.length > 0 ? '/' : ''}`;
        const query = r.query.map(([k, v]) => `${k}=${v}`).join('&');
        const host = `svc.${r.region}.amazonaws.com${r.port ? `:${r.port}` : ''}`;
        const headers: Record<string, string> = {};
        if (r.contentType) headers['content-type'] = r.contentType;
        if (r.target) headers['x-amz-target'] = r.target;
        headers['accept'] = 'application/json'; // not signed by us: must not matter
        const body = r.body === undefined || r.method === 'GET' || r.method === 'HEAD' ? undefined : Buffer.from(r.body, 'utf8');
        const req: AuthRequest = { method: r.method, origin: `https://${host}`, path: p, query, headers, body };
        const unsigned = r.unsigned && r.service === 's3';
        const applied = signAwsRequest(
          { type: 'aws-sigv4', region: r.region, service: r.service, ...(unsigned ? { payload: 'unsigned' as const } : {}) },
          {
            accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
            secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
            sessionToken: r.sessionToken,
          },
          req,
          r.now,
        );
        // aws4 signs every header it is given: give it exactly the ones we signed.
        const ours = applied.headers['authorization'] as string;
        const signedNames = (/SignedHeaders=([^,]+)/.exec(ours) as RegExpExecArray)[1]!.split(';');
        const all: Record<string, string> = { host, ...headers, ...applied.headers };
        const toAws: Record<string, string> = {};
        for (const n of signedNames) toAws[n] = all[n] as string;
        const signer = new aws4.RequestSigner(
          {
            service: r.service,
            region: r.region,
            method: r.method,
            host,
            path: query ? `${p}?${query}` : p,
            headers: toAws,
            body: body === undefined ? undefined : Buffer.from(body),
            doNotModifyHeaders: true,
          },
          { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
        );
        signer.datetime = applied.headers['x-amz-date'] as string;
        expect(ours).toBe(signer.sign().headers['Authorization']);
        expect(signedNames).toContain('x-amz-date');
        expect(signedNames).toContain('x-amz-content-sha256');
        if (r.sessionToken) expect(signedNames).toContain('x-amz-security-token');
        expect(signedNames).not.toContain('accept');
      }),
      { numRuns: 400 },
    );
  });
});
