import { createPrivateKey, createPublicKey, createVerify, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64url, encodeJwtRs256, parsePrivateKey, signRs256 } from '../../src/auth/jwt.js';
import { JaneeError } from '../../src/errors.js';

// RFC 7515 appendix A.2: the RSA key (n, e, d, p, q as published; dp, dq, qi derived
// from them), the JWS Protected Header, the payload and the resulting signature.
const A2 = {
  n:
    'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs' +
    'D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV' +
    'MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ',
  e: 'AQAB',
  d:
    'Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0' +
    'BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYT' +
    'CBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ',
  p:
    '4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPG' +
    'BY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc',
  q:
    'uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA' +
    '-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc',
  header: '{"alg":"RS256"}',
  payload: '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}',
  encodedHeader: 'eyJhbGciOiJSUzI1NiJ9',
  encodedPayload: 'eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ',
  signature:
    'cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZ' +
    'cAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-' +
    'eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw',
};

const big = (b64u: string): bigint => BigInt(`0x${Buffer.from(b64u, 'base64url').toString('hex')}`);
const b64uOf = (x: bigint): string => {
  let hex = x.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex').toString('base64url');
};
function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}

function a2Key() {
  const [d, p, q] = [big(A2.d), big(A2.p), big(A2.q)];
  return createPrivateKey({
    key: {
      kty: 'RSA',
      n: A2.n,
      e: A2.e,
      d: A2.d,
      p: A2.p,
      q: A2.q,
      dp: b64uOf(d % (p - 1n)),
      dq: b64uOf(d % (q - 1n)),
      qi: b64uOf(modInverse(q, p)),
    },
    format: 'jwk',
  });
}

describe('RS256 JWS', () => {
  it('reproduces RFC 7515 appendix A.2 exactly', () => {
    expect(base64url(A2.header)).toBe(A2.encodedHeader);
    expect(base64url(A2.payload)).toBe(A2.encodedPayload);
    expect(signRs256(`${A2.encodedHeader}.${A2.encodedPayload}`, a2Key())).toBe(A2.signature);
  });

  it('encodes a JWT that verifies with the public key', () => {
    const key = a2Key();
    const jwt = encodeJwtRs256({ iss: '42', iat: 1, exp: 2 }, key, { kid: 'k1' });
    const [h, p, s] = jwt.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'k1' });
    expect(JSON.parse(Buffer.from(p!, 'base64url').toString())).toEqual({ iss: '42', iat: 1, exp: 2 });
    const v = createVerify('sha256');
    v.update(`${h}.${p}`);
    expect(v.verify(createPublicKey(key), Buffer.from(s!, 'base64url'))).toBe(true);
  });
});

describe('parsePrivateKey', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pkcs8 = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const pkcs1 = privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
  const der = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
  const same = (k: ReturnType<typeof parsePrivateKey>) =>
    expect(k.export({ format: 'jwk' }).n).toBe(privateKey.export({ format: 'jwk' }).n);

  it('takes PKCS#8 and PKCS#1 PEM, with real or escaped line breaks, base64 DER, and the base64 of a PEM file', () => {
    same(parsePrivateKey(pkcs8, 'key'));
    same(parsePrivateKey(pkcs1, 'key'));
    same(parsePrivateKey(pkcs8.replace(/\n/g, '\\n'), 'key'));
    same(parsePrivateKey(der, 'key'));
    same(parsePrivateKey(Buffer.from(pkcs1).toString('base64'), 'key'));
  });

  it('refuses anything else without echoing it', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    for (const bad of ['not a key', pkcs8.slice(0, 200), ec]) {
      let err: unknown;
      try {
        parsePrivateKey(bad, 'privateKey');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(JaneeError);
      expect((err as JaneeError).code).toBe('AUTH_TOKEN_FAILED');
      expect((err as JaneeError).message).toContain('privateKey');
      expect((err as JaneeError).message).not.toContain(bad.slice(0, 20));
    }
  });
});
