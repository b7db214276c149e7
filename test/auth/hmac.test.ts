/**
 * The HMAC presets against each exchange's documented signing recipe and its own example
 * request. None of the three pages publishes a computed signature for its example (as far as
 * we found), so the string to sign is checked character for character against the recipe, and
 * the digest against openssl (an independent HMAC implementation):
 * - Bybit V5, https://bybit-exchange.github.io/docs/v5/guide#create-a-request:
 *   timestamp + api_key + recv_window + (queryString | jsonBodyString), HMAC-SHA256, hex;
 *   headers X-BAPI-API-KEY, X-BAPI-TIMESTAMP, X-BAPI-SIGN, X-BAPI-RECV-WINDOW.
 * - OKX V5, https://www.okx.com/docs-v5/en/#overview-rest-authentication-signature:
 *   sign = Base64(HmacSHA256(timestamp + 'GET' + '/api/v5/account/balance?ccy=BTC', SecretKey)),
 *   timestamp ISO 8601 with milliseconds (2020-12-08T09:08:57.715Z); headers OK-ACCESS-KEY,
 *   OK-ACCESS-SIGN, OK-ACCESS-TIMESTAMP, OK-ACCESS-PASSPHRASE.
 * - MEXC Spot V3, https://mexcdevelop.github.io/apidocs/spot_v3_en/#signed: signature =
 *   HMAC-SHA256(secretKey, totalParams) in hex, totalParams = query string + request body,
 *   timestamp a query parameter, signature the last one; header X-MEXC-APIKEY.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hmacPayload, signHmac } from '../../src/auth/hmac.js';
import { HMAC_PRESET_TEMPLATES, type AuthRequest } from '../../src/auth/types.js';

/** HMAC of `data` under `key` by openssl, as hex or base64. */
function openssl(alg: 'sha256' | 'sha512', key: string, data: string, enc: 'hex' | 'base64'): string {
  const bin = execFileSync('openssl', ['dgst', `-${alg}`, '-hmac', key, '-binary'], { input: data });
  return enc === 'hex' ? bin.toString('hex') : bin.toString('base64');
}

const req = (r: Partial<AuthRequest>): AuthRequest => ({
  method: 'GET',
  origin: 'https://api.example.com',
  path: '/',
  query: '',
  headers: {},
  body: undefined,
  ...r,
});

describe('bybit', () => {
  const t = HMAC_PRESET_TEMPLATES.bybit;
  const fields = { apiKey: 'XXXXXXXXXX', apiSecret: 'YYYYYYYYYY-bybit-secret' };
  it('GET: timestamp + api_key + recv_window + queryString (the guide example: category=option&symbol=BTC-29JUL22-25000-C at 1658384314791)', () => {
    const r = req({ path: '/v5/order/realtime', query: 'category=option&symbol=BTC-29JUL22-25000-C' });
    const { payload } = hmacPayload(t, fields, r, '1658384314791', 'bybit');
    expect(payload).toBe('1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C');
    const a = signHmac(t, fields, r, 1658384314791, 'bybit');
    expect(a.headers).toEqual({
      'x-bapi-api-key': 'XXXXXXXXXX',
      'x-bapi-timestamp': '1658384314791',
      'x-bapi-recv-window': '5000',
      'x-bapi-sign': openssl('sha256', fields.apiSecret, payload, 'hex'),
    });
    expect(a.query).toBeUndefined();
  });
  it('POST: the JSON body instead of the query', () => {
    const body = '{"category":"option","symbol":"BTC-29JUL22-25000-C","orderType":"Limit","side":"Buy","qty":"1","price":"5"}';
    const r = req({ method: 'POST', path: '/v5/order/create', body: Buffer.from(body) });
    const a = signHmac(t, fields, r, 1658385579423, 'bybit');
    expect(a.headers['x-bapi-sign']).toBe(openssl('sha256', fields.apiSecret, `1658385579423XXXXXXXXXX5000${body}`, 'hex'));
  });
});

describe('okx', () => {
  const t = HMAC_PRESET_TEMPLATES.okx;
  const fields = {
    apiKey: '985d5b66-57ce-40fb-b714-afc0b9787083',
    apiSecret: 'okx-secret-key-22582BD0CFF14C41EDBF1AB98506286D',
    passphrase: 'pass-phrase',
  };
  const now = Date.parse('2020-12-08T09:08:57.715Z');
  it("GET: Base64(HmacSHA256(timestamp + 'GET' + '/api/v5/account/balance?ccy=BTC'))", () => {
    const r = req({ path: '/api/v5/account/balance', query: 'ccy=BTC' });
    const { payload } = hmacPayload(t, fields, r, '2020-12-08T09:08:57.715Z', 'okx');
    expect(payload).toBe('2020-12-08T09:08:57.715ZGET/api/v5/account/balance?ccy=BTC');
    expect(signHmac(t, fields, r, now, 'okx').headers).toEqual({
      'ok-access-key': fields.apiKey,
      'ok-access-sign': openssl('sha256', fields.apiSecret, payload, 'base64'),
      'ok-access-timestamp': '2020-12-08T09:08:57.715Z',
      'ok-access-passphrase': 'pass-phrase',
    });
  });
  it('POST: timestamp + POST + path + body', () => {
    const body = '{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"market","sz":"100"}';
    const r = req({ method: 'POST', path: '/api/v5/trade/order', body: Buffer.from(body) });
    expect(signHmac(t, fields, r, now, 'okx').headers['ok-access-sign']).toBe(
      openssl('sha256', fields.apiSecret, `2020-12-08T09:08:57.715ZPOST/api/v5/trade/order${body}`, 'base64'),
    );
  });
});

describe('mexc', () => {
  const t = HMAC_PRESET_TEMPLATES.mexc;
  const fields = { apiKey: 'mx0aBYs33eIilxBWC5', apiSecret: '45d0b3c26f2644f19bfb98b07741b2f5' };
  it('query: timestamp appended, HMAC of the whole query, signature appended last; key in X-MEXC-APIKEY', () => {
    const r = req({
      method: 'POST',
      path: '/api/v3/order',
      query: 'symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000',
    });
    const a = signHmac(t, fields, r, 1644489390087, 'mexc');
    const total = 'symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000&timestamp=1644489390087';
    expect(a.query).toBe(`${total}&signature=${openssl('sha256', fields.apiSecret, total, 'hex')}`);
    expect(a.headers).toEqual({ 'x-mexc-apikey': 'mx0aBYs33eIilxBWC5' });
  });
  it('body: totalParams is the query then the body', () => {
    const body = 'symbol=BTCUSDT&side=BUY&type=LIMIT';
    const r = req({ method: 'POST', path: '/api/v3/order', query: 'quantity=1&price=11', body: Buffer.from(body) });
    const a = signHmac(t, fields, r, 1644489390087, 'mexc');
    const q = 'quantity=1&price=11&timestamp=1644489390087';
    expect(a.query).toBe(`${q}&signature=${openssl('sha256', fields.apiSecret, q + body, 'hex')}`);
  });
});

describe('a written-out template', () => {
  it('sha512, base64, seconds, signature in the query: all as the template says', () => {
    const t = {
      algorithm: 'sha512' as const,
      encoding: 'base64' as const,
      timestamp: 's' as const,
      keyField: 'secret',
      sign: ['method', 'literal:|', 'path', 'literal:|', 'timestamp', 'literal:|', 'field:id'],
      headers: { 'X-Id': 'field:id', 'X-Ts': 'timestamp' },
      query: { sig: 'signature' },
    };
    const a = signHmac(
      t,
      { id: 'client-7', secret: 's3cr3t-value' },
      req({ method: 'DELETE', path: '/v1/x', query: 'a=1' }),
      1700000000999,
      'svc',
    );
    expect(a.headers).toEqual({ 'x-id': 'client-7', 'x-ts': '1700000000' });
    const sig = openssl('sha512', 's3cr3t-value', 'DELETE|/v1/x|1700000000|client-7', 'base64');
    expect(a.query).toBe(`a=1&sig=${encodeURIComponent(sig)}`);
  });
});
