/**
 * Walks fixtures/vectors (written by scripts/gen-vectors.mjs): one test per file. Each file
 * is a text header (`expect:`, `passphrase:` or `identity:`, `payload-sha256:`, `comment:`), a blank line,
 * then the exact vault bytes. The reader pipeline must stop with exactly the expected code.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import { openVault, parseVault, unwrapWith } from '../../src/vault/format.js';
import { decodePayload } from '../../src/vault/payload.js';
import { parseIdentity } from '../../src/vault/x25519.js';

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'vectors');

interface Vector {
  expect: string;
  passphrase: string | undefined;
  identity: string | undefined;
  payloadSha256: string | undefined;
  comment: string;
  vault: Uint8Array;
}

function readVector(file: string): Vector {
  const raw = readFileSync(join(DIR, file));
  const sep = raw.indexOf('\n\n');
  if (sep < 0) throw new Error(`${file}: no blank line after the header`);
  const fields = new Map<string, string>();
  for (const line of raw.subarray(0, sep).toString('utf8').split('\n')) {
    const m = /^([a-z0-9-]+): (.*)$/.exec(line);
    if (m === null) throw new Error(`${file}: bad header line ${JSON.stringify(line)}`);
    fields.set(m[1] as string, m[2] as string);
  }
  const need = (k: string): string => {
    const v = fields.get(k);
    if (v === undefined) throw new Error(`${file}: missing ${k}`);
    return v;
  };
  return {
    expect: need('expect'),
    passphrase: fields.get('passphrase'),
    identity: fields.get('identity'),
    payloadSha256: fields.get('payload-sha256'),
    comment: need('comment'),
    vault: new Uint8Array(raw.subarray(sep + 2)),
  };
}

async function run(v: Vector): Promise<Uint8Array> {
  const parsed = parseVault(v.vault);
  let key: Uint8Array;
  if (v.identity !== undefined) {
    const id = parseIdentity(v.identity);
    if (id === undefined) throw new Error('bad identity in vector');
    key = await unwrapWith(parsed.header, { identities: [id] });
  } else {
    key = await unwrapWith(parsed.header, new TextEncoder().encode(v.passphrase ?? ''));
  }
  try {
    const plaintext = openVault(parsed, key);
    decodePayload(plaintext);
    return plaintext;
  } finally {
    key.fill(0);
  }
}

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('vault test vectors', () => {
  it('has the vectors the spec promises', () => {
    const names = new Set(files.map((f) => f.replace(/\.txt$/, '')));
    for (const n of [
      'valid',
      'wrong-passphrase',
      'truncated-header',
      'truncated-payload',
      'salt-bitflip',
      'wrapped-key-bitflip',
      'mac-bitflip',
      'payload-bitflip',
      'work-factor-23',
      'salt-non-canonical-b64',
      'crlf',
      'version-3',
      'v2-valid-identity',
      'v2-valid-passphrase',
      'v2-valid-no-passphrase',
      'v2-not-recipient',
      'v2-stanza-added',
      'v2-stanza-removed',
      'v2-stanza-swapped',
      'v2-name-changed',
      'v2-recipients-stripped',
      'v2-share-low-order',
      'empty',
      'trailing-garbage',
    ]) {
      expect(names.has(n), n).toBe(true);
    }
  });

  for (const file of files) {
    const v = readVector(file);
    if ((v.passphrase === undefined) === (v.identity === undefined)) throw new Error(`${file}: give exactly one of passphrase, identity`);
    it(`${file}: ${v.expect} (${v.comment})`, async () => {
      if (v.expect === 'success') {
        const plaintext = await run(v);
        expect(createHash('sha256').update(plaintext).digest('hex')).toBe(v.payloadSha256);
        return;
      }
      const err = await run(v).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'must fail').toBeInstanceOf(JaneeError);
      const je = err as JaneeError;
      expect(je.code).toBe(v.expect);
      expect(je.message).toMatch(/^[a-z]/);
      expect(je.hint).toBeTypeOf('string');
    });
  }
});
