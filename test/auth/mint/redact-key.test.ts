/**
 * Redaction of a Google service-account key (stored base64 in `credentials`): its
 * private key is a secret in every form, its public members (Google's URLs, the
 * client email) are not, so Google API answers and janee's own token errors keep them.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { secretVariants } from '../../../src/gate/inject.js';
import { Redactor } from '../../../src/gate/redact.js';

const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const key = {
  type: 'service_account',
  project_id: 'my-project-123',
  private_key_id: '0123456789abcdef0123456789abcdef01234567',
  private_key: pem,
  client_email: 'robot@my-project-123.iam.gserviceaccount.com',
  client_id: '112233445566778899001',
  auth_uri: 'https://accounts.google.com/o/oauth2/auth',
  token_uri: 'https://oauth2.googleapis.com/token',
  auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
  client_x509_cert_url: 'https://www.googleapis.com/robot/v1/metadata/x509/robot%40my-project-123.iam.gserviceaccount.com',
  universe_domain: 'googleapis.com',
};
const redactor = new Redactor([
  {
    service: 'gsa',
    variants: secretVariants(
      { type: 'google-service-account', scopes: ['x'] },
      { credentials: Buffer.from(JSON.stringify(key, null, 2)).toString('base64') },
    ),
  },
]);

describe('google-service-account key redaction', () => {
  it('keeps Google URLs in an API answer and in a token endpoint error', () => {
    const answer = '{"kind":"calendar#events","selfLink":"https://www.googleapis.com/calendar/v3/calendars/primary/events"}';
    expect(redactor.redact(answer)).toBe(answer);
    const err = 'token endpoint https://oauth2.googleapis.com answered HTTP 400 (invalid_grant)';
    expect(redactor.redact(err)).toBe(err);
  });

  it('still redacts the private key: whole, one line, JSON-escaped, and the whole key file echoed', () => {
    const line = pem.split('\n')[5]!;
    for (const text of [pem, `x ${line} y`, JSON.stringify({ k: pem }), JSON.stringify(key)]) {
      const out = redactor.redact(text);
      expect(out).toContain('[REDACTED:gsa]');
      expect(out).not.toContain(line.slice(0, 20));
    }
  });
});
