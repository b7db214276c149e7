#!/usr/bin/env node
/**
 * Writes the vault test vectors in fixtures/vectors/ (spec: docs/vault-format.md).
 *
 *     npm run vectors        # = npm run build && node scripts/gen-vectors.mjs
 *
 * Deterministic: the file key, salts and payload nonces are derived from fixed labels
 * (sha256("janee-vectors/" + label)), so regenerating gives byte-identical files unless
 * the format code changes. Work factor log2 N = 10 (fast; never use that for real).
 *
 * Each vector is a text header, a blank line, then the exact vault bytes:
 *
 *     expect: success | <JaneeError code>
 *     passphrase: <passphrase to try>                 (or)
 *     identity: <AGE-SECRET-KEY-1… to try>            (v2: an X25519 identity)
 *     payload-sha256: <hex of sha256(plaintext)>      (success only)
 *     comment: <what the defect is>
 *
 * A reader runs parseVault → unwrapFileKey (or unwrapWithIdentities) → openVault → decodePayload and must stop with
 * exactly the expected code (or succeed with the given plaintext hash).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sealVault, wrapFileKey, wrapForRecipient } from '../dist/vault/format.js';
import { encodeIdentity, encodeRecipient, publicKeyOf } from '../dist/vault/x25519.js';
import { encodePayload } from '../dist/vault/payload.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'vectors');
const LOG_N = 10;
const PASSPHRASE = 'correct horse battery staple';
const enc = new TextEncoder();

const sha256 = (data) => createHash('sha256').update(data).digest();
const seed = (label, n) => new Uint8Array(sha256(`janee-vectors/${label}`).subarray(0, n));
const hex = (b) => Buffer.from(b).toString('hex');
const b64 = (b) => Buffer.from(b).toString('base64').replace(/=+$/, '');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));
const utf8 = (s) => enc.encode(s);
const text = (bytes) => Buffer.from(bytes).toString('latin1');
const bytesOf = (s) => new Uint8Array(Buffer.from(s, 'latin1'));

const FILE_KEY = seed('file-key', 32);
const OTHER_FILE_KEY = seed('other-file-key', 32);
const T0 = '2026-01-15T09:30:00.000Z';

function entry(fields, origins) {
  return { fields, origins, created: T0, updated: T0 };
}
function data(entries, generation = 1) {
  return { version: 1, generation, entries };
}

const DATA = data({
  github: entry({ token: 'gh_test_token_not_a_real_one_0123456789x' }, ['https://api.github.com']),
  jira: entry({ username: 'bot@example.com', password: 'p\u00e4ss w0rd \u{1F511}' }, ['https://example.atlassian.net']),
  stripe: entry({ token: 'sk_test_4eC39HqLyjWDarjtT1zdp7dc' }, ['https://api.stripe.com', 'http://localhost:12111']),
});

/** A header for FILE_KEY under PASSPHRASE (or other key/passphrase) with a labelled salt. */
async function header(label, fileKey = FILE_KEY, passphrase = PASSPHRASE) {
  return wrapFileKey(utf8(passphrase), fileKey, LOG_N, { salt: seed(`salt/${label}`, 16) });
}
function seal(h, plaintext, label, fileKey = FILE_KEY) {
  return sealVault(h, fileKey, plaintext, { nonce: seed(`nonce/${label}`, 24) });
}

// --- text surgery on canonical vaults -------------------------------------------------

/** Splits a canonical vault into its five header lines and the payload body (b64, unwrapped). */
function split(vault) {
  const lines = text(vault).split('\n');
  return { head: lines.slice(0, 5), body: lines.slice(5).join('') };
}
function wrap64(body) {
  const out = [];
  let i = 0;
  for (; i + 64 <= body.length; i += 64) out.push(body.slice(i, i + 64));
  out.push(body.slice(i));
  return out.join('\n') + '\n';
}
function join5(head, body) {
  return bytesOf(head.join('\n') + '\n' + wrap64(body));
}
/** Recomputes the `# check` line after editing lines 1–3 (so only the edit itself is wrong). */
function recheck(head) {
  const h = [...head];
  h[3] = `# check ${b64(sha256(h.slice(0, 3).join('\n') + '\n').subarray(0, 8))}`;
  return h;
}
function flipB64(s, bit) {
  const b = unb64(s);
  b[bit >> 3] ^= 1 << (bit & 7);
  return b64(b);
}
/** Sets unused low bits in the last char of a base64 string (a lenient decoder ignores them). */
function nonCanonical(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const unused = { 2: 4, 3: 2 }[s.length % 4];
  if (unused === undefined) throw new Error('no unused bits in this base64 string');
  const v = alphabet.indexOf(s[s.length - 1]);
  return s.slice(0, -1) + alphabet[v | 1];
}

// --- vectors ----------------------------------------------------------------------------

const vectors = [];
function add(name, expect, vault, comment, opts = {}) {
  vectors.push({
    name,
    expect,
    vault,
    comment,
    identity: opts.identity,
    passphrase: opts.passphrase ?? PASSPHRASE,
    plaintext: opts.plaintext,
  });
}

const H = await header('main');
const PT = encodePayload(DATA);
const V = seal(H, PT, 'main');
const { head, body } = split(V);

add('valid', 'success', V, 'a valid vault with three entries', { plaintext: PT });
{
  const pt = encodePayload(data({}, 0));
  add('valid-empty', 'success', seal(H, pt, 'empty'), 'a valid vault with no entries (as janee init writes it)', { plaintext: pt });
}
// Payload sizes at the line-width edges: nonce ‖ ciphertext of 48·k bytes (last line empty)
// and of 48·k − 1 bytes (last line 63 columns).
for (const [name, rem, comment] of [
  ['valid-last-line-empty', 0, 'payload body is a multiple of 48 bytes, so the last payload line is empty'],
  ['valid-last-line-63', 47, 'the last payload line is 63 columns, the longest it may be'],
]) {
  let pt;
  for (let n = 1; ; n++) {
    pt = encodePayload(data({ edge: entry({ token: 'x'.repeat(n) }, ['https://edge.example']) }));
    if ((24 + pt.length + 16) % 48 === rem) break;
  }
  add(name, 'success', seal(H, pt, name), comment, { plaintext: pt });
}

add('wrong-passphrase', 'VAULT_BAD_PASSPHRASE', V, 'the valid vault, tried with another passphrase', {
  passphrase: 'correct horse battery stapler',
});
add('empty', 'VAULT_EMPTY', new Uint8Array(0), 'an empty file');
add('not-a-vault', 'VAULT_BAD_HEADER', utf8('age-encryption.org/v1\n-> scrypt c2FsdHNhbHRzYWx0c2FsdA 18\n'), 'an age file');
add('not-a-vault-json', 'VAULT_BAD_HEADER', utf8('{"version":1}\n'), 'a plaintext JSON file');
add('version-01', 'VAULT_BAD_HEADER', bytesOf(text(V).replace('janee-vault/v1\n', 'janee-vault/v01\n')), 'version with a leading zero');
add('crlf', 'VAULT_BAD_HEADER', bytesOf(text(V).replaceAll('\n', '\r\n')), 'CRLF line endings (git autocrlf)');
add('non-ascii', 'VAULT_BAD_HEADER', bytesOf(text(V).replace('-> scrypt', '-\u00bb scrypt')), 'a non-ASCII byte in the header');
add('leading-bom', 'VAULT_BAD_HEADER', new Uint8Array([0xef, 0xbb, 0xbf, ...V]), 'a UTF-8 byte order mark before the version line');

// truncation
add('truncated-version-line', 'VAULT_BAD_HEADER', V.subarray(0, 9), 'cut inside the version line');
add('truncated-after-version', 'VAULT_BAD_HEADER', bytesOf(head[0] + '\n'), 'only the version line');
add(
  'truncated-header',
  'VAULT_BAD_HEADER',
  bytesOf(head.slice(0, 2).join('\n') + '\n' + head[2].slice(0, 30)),
  'cut inside the wrapped key line',
);
add('truncated-before-mac', 'VAULT_BAD_HEADER', bytesOf(head.slice(0, 4).join('\n') + '\n'), 'cut before the mac line');
add('truncated-mac-line', 'VAULT_BAD_HEADER', bytesOf(head.slice(0, 4).join('\n') + '\n' + head[4]), 'mac line without its newline');
add('payload-missing', 'VAULT_BAD_PAYLOAD', bytesOf(head.join('\n') + '\n'), 'cut right after the mac line');
add('truncated-payload', 'VAULT_BAD_PAYLOAD', V.subarray(0, V.length - 20), 'cut inside the last payload line');
{
  const t = text(V);
  const cut = t.lastIndexOf('\n', t.length - 2) + 1; // drop the whole final (short) line
  add(
    'truncated-payload-line-boundary',
    'VAULT_BAD_PAYLOAD',
    V.subarray(0, cut),
    'cut at a line boundary: the last line is a full 64 columns',
  );
}
add('payload-no-final-newline', 'VAULT_BAD_PAYLOAD', V.subarray(0, V.length - 1), 'the final newline is missing');

// extension
add('trailing-garbage', 'VAULT_BAD_PAYLOAD', bytesOf(text(V) + 'garbage\n'), 'a line after the final payload line');
add('trailing-newline', 'VAULT_BAD_PAYLOAD', bytesOf(text(V) + '\n'), 'an extra empty line at the end');
add('trailing-space', 'VAULT_BAD_PAYLOAD', bytesOf(text(V).slice(0, -1) + ' \n'), 'a space at the end of the last line');

// bit flips in the decoded values
{
  const [, , s, n] = head[1].split(' ');
  add(
    'salt-bitflip',
    'VAULT_BAD_HEADER',
    join5([head[0], `-> scrypt ${flipB64(s, 37)} ${n}`, ...head.slice(2)], body),
    'one bit of the salt flipped: the check line catches it',
  );
}
add(
  'wrapped-key-bitflip',
  'VAULT_BAD_HEADER',
  join5([...head.slice(0, 2), flipB64(head[2], 200), ...head.slice(3)], body),
  'one bit of the wrapped key flipped',
);
add(
  'check-bitflip',
  'VAULT_BAD_HEADER',
  join5([...head.slice(0, 3), `# check ${flipB64(head[3].slice(8), 5)}`, head[4]], body),
  'one bit of the check value flipped',
);
add(
  'mac-bitflip',
  'VAULT_BAD_MAC',
  join5([...head.slice(0, 4), `--- ${flipB64(head[4].slice(4), 100)}`], body),
  'one bit of the header mac flipped',
);
add('nonce-bitflip', 'VAULT_BAD_PAYLOAD', join5(head, flipB64(body, 70)), 'one bit of the payload nonce flipped');
add('payload-bitflip', 'VAULT_BAD_PAYLOAD', join5(head, flipB64(body, 8 * 100 + 3)), 'one bit of the payload ciphertext flipped');
add('tag-bitflip', 'VAULT_BAD_PAYLOAD', join5(head, flipB64(body, unb64(body).length * 8 - 1)), 'the last bit of the poly1305 tag flipped');
add(
  'wrapped-key-tampered',
  'VAULT_BAD_PASSPHRASE',
  seal({ ...H, wrappedKey: unb64(flipB64(head[2], 200)) }, PT, 'tampered'),
  'wrapped key altered and check and mac recomputed (deliberate tampering): indistinguishable from a wrong passphrase',
);

// work factor
{
  const h23 = { ...H, logN: 23 };
  add('work-factor-23', 'VAULT_WORK_FACTOR', seal(h23, PT, 'wf23'), 'log2 N = 23, above the cap of 22 (refused before any scrypt work)');
  const h99 = { ...H, logN: 99 };
  add('work-factor-99', 'VAULT_WORK_FACTOR', seal(h99, PT, 'wf99'), 'log2 N = 99');
  const [, , s] = head[1].split(' ');
  add(
    'work-factor-leading-zero',
    'VAULT_BAD_HEADER',
    join5(recheck([head[0], `-> scrypt ${s} 010`, ...head.slice(2)]), body),
    'log2 N written as 010',
  );
  add('work-factor-zero', 'VAULT_BAD_HEADER', join5(recheck([head[0], `-> scrypt ${s} 0`, ...head.slice(2)]), body), 'log2 N = 0');
  add(
    'work-factor-100',
    'VAULT_BAD_HEADER',
    join5(recheck([head[0], `-> scrypt ${s} 100`, ...head.slice(2)]), body),
    'log2 N with three digits',
  );
}

// encoding
{
  const [, , s, n] = head[1].split(' ');
  add(
    'salt-non-canonical-b64',
    'VAULT_BAD_HEADER',
    join5(recheck([head[0], `-> scrypt ${nonCanonical(s)} ${n}`, ...head.slice(2)]), body),
    'unused bits set in the last salt character (check line recomputed)',
  );
  add(
    'salt-padded-b64',
    'VAULT_BAD_HEADER',
    join5(recheck([head[0], `-> scrypt ${s}== ${n}`, ...head.slice(2)]), body),
    'salt with = padding',
  );
  add(
    'scrypt-double-space',
    'VAULT_BAD_HEADER',
    join5(recheck([head[0], `-> scrypt  ${s} ${n}`, ...head.slice(2)]), body),
    'two spaces in the scrypt line',
  );
}
add(
  'mac-non-canonical-b64',
  'VAULT_BAD_HEADER',
  join5([...head.slice(0, 4), `--- ${nonCanonical(head[4].slice(4))}`], body),
  'unused bits set in the last mac character',
);
{
  // Need a payload body whose base64 has unused bits: pick the sealed vault accordingly.
  const v = unb64(body).length % 3 !== 0 ? V : seal(H, encodePayload(data({}, 7)), 'nc');
  const sp = split(v);
  add(
    'payload-non-canonical-b64',
    'VAULT_BAD_PAYLOAD',
    join5(sp.head, nonCanonical(sp.body)),
    'unused bits set in the last payload character',
  );
  add('payload-padded-b64', 'VAULT_BAD_PAYLOAD', bytesOf(text(v).slice(0, -1) + '=\n'), 'payload with = padding');
}
{
  const lines = [];
  for (let i = 0; i < body.length; i += 76) lines.push(body.slice(i, i + 76));
  add(
    'payload-wrapped-76',
    'VAULT_BAD_PAYLOAD',
    bytesOf(head.join('\n') + '\n' + lines.join('\n') + '\n'),
    'payload wrapped at 76 columns (MIME style)',
  );
}
add(
  'payload-invalid-char',
  'VAULT_BAD_PAYLOAD',
  join5(head, body.slice(0, 10) + '-' + body.slice(11)),
  'a base64url character in the payload',
);

// splicing
{
  const H2 = await header('passwd'); // same file key and passphrase, new salt (as `janee passwd` would)
  const other = split(seal(H2, PT, 'rewrap'));
  add(
    'header-from-rewrap',
    'VAULT_BAD_PAYLOAD',
    join5(other.head, body),
    'header of the same vault re-wrapped (new salt), payload of the old one: the AAD binds them',
  );
  const H3 = await header('rekey', OTHER_FILE_KEY); // `janee rekey`: new file key
  const rekeyed = split(seal(H3, PT, 'rekey', OTHER_FILE_KEY));
  add(
    'header-mac-from-other-key',
    'VAULT_BAD_MAC',
    join5([...head.slice(0, 4), rekeyed.head[4]], body),
    'mac line of a vault with another file key',
  );
}

// payload content (valid encryption, invalid JSON payload)
for (const [name, expect, plaintext, comment] of [
  ['payload-not-json', 'VAULT_BAD_PAYLOAD', utf8('not json'), 'plaintext is not JSON'],
  ['payload-not-utf8', 'VAULT_BAD_PAYLOAD', new Uint8Array([0x7b, 0xff, 0x7d]), 'plaintext is not UTF-8'],
  ['payload-version-3', 'VAULT_UNSUPPORTED_VERSION', utf8('{"version":3,"generation":1,"entries":{},"new":true}'), 'payload version 3'],
  ['payload-unknown-key', 'VAULT_BAD_PAYLOAD', utf8('{"version":1,"generation":1,"entries":{},"extra":1}'), 'an unknown top-level key'],
  [
    'payload-bad-origin',
    'VAULT_BAD_PAYLOAD',
    utf8(
      `{"version":1,"generation":1,"entries":{"a":{"fields":{"token":"t"},"origins":["https://a.example/path"],"created":"${T0}","updated":"${T0}"}}}`,
    ),
    'an origin with a path',
  ],
  [
    'payload-bad-date',
    'VAULT_BAD_PAYLOAD',
    utf8(
      `{"version":1,"generation":1,"entries":{"a":{"fields":{"token":"t"},"origins":[],"created":"2026-02-30T00:00:00.000Z","updated":"${T0}"}}}`,
    ),
    'an impossible date',
  ],
  [
    'payload-field-not-string',
    'VAULT_BAD_PAYLOAD',
    utf8(`{"version":1,"generation":1,"entries":{"a":{"fields":{"token":42},"origins":[],"created":"${T0}","updated":"${T0}"}}}`),
    'a field value that is not a string',
  ],
]) {
  add(name, expect, seal(H, plaintext, name), comment);
}

// --- version 2: X25519 recipients -------------------------------------------------------
//
// Three members with fixed keys (their identities are in the vectors: test keys only).
// Each v2 vector names the identity to try (`identity:`) or a passphrase; the defects are
// made on a canonical v2 vault and, where a check value would catch them first, the
// `# check` line is recomputed so the defect itself is what fails.

const ID = Object.fromEntries(['alice', 'bob', 'carol'].map((n) => [n, seed(`identity/${n}`, 32)]));
const REC = Object.fromEntries(Object.entries(ID).map(([n, k]) => [n, encodeRecipient(publicKeyOf(k))]));
const recipient = (name, fileKey = FILE_KEY, label = name) =>
  wrapForRecipient(fileKey, name, REC[name], { ephemeral: seed(`ephemeral/${label}`, 32) });
const V2H = { scrypt: H, recipients: [recipient('alice'), recipient('bob')] };
const V2 = seal(V2H, PT, 'v2');
const V2_ONLY = seal({ recipients: [recipient('alice'), recipient('bob')] }, PT, 'v2-only');

/** Splits a canonical v2 vault into header lines (without the check and mac lines), check, mac, body. */
function split2(vault) {
  const lines = text(vault).split('\n');
  const at = lines.findIndex((l) => l.startsWith('# check '));
  return { stanzas: lines.slice(0, at), mac: lines[at + 1], body: lines.slice(at + 2).join('') };
}
/** Reassembles, recomputing the check line over `stanzas` (so only the edit itself is wrong). */
function join2(stanzas, mac, body, opts = {}) {
  const checked = stanzas.join('\n') + '\n';
  const check = opts.check ?? `# check ${b64(sha256(checked).subarray(0, 8))}`;
  return bytesOf(checked + check + '\n' + mac + '\n' + wrap64(body));
}
const s2 = split2(V2);
const so = split2(V2_ONLY);
const ids = { alice: encodeIdentity(ID.alice), bob: encodeIdentity(ID.bob), carol: encodeIdentity(ID.carol) };
const add2 = (name, expect, vault, comment, who = 'alice') => add(name, expect, vault, comment, { identity: ids[who] });

add2('v2-valid-identity', 'success', V2, 'passphrase and two recipients, opened by the first recipient', 'alice');
vectors[vectors.length - 1].plaintext = PT;
add2('v2-valid-identity-second', 'success', V2, 'the same vault opened by the second recipient', 'bob');
vectors[vectors.length - 1].plaintext = PT;
add('v2-valid-passphrase', 'success', V2, 'the same vault opened with the passphrase', { plaintext: PT });
add2('v2-valid-no-passphrase', 'success', V2_ONLY, 'two recipients and no passphrase');
vectors[vectors.length - 1].plaintext = PT;
add('v2-no-passphrase', 'VAULT_NO_PASSPHRASE', V2_ONLY, 'a vault without a passphrase, tried with one');
add2('v2-not-recipient', 'VAULT_NOT_RECIPIENT', V2, 'an identity that is not a recipient', 'carol');
add2('v1-tried-with-identity', 'VAULT_NOT_RECIPIENT', V, 'a v1 vault has no recipients', 'alice');
add2(
  'v2-no-recipient',
  'VAULT_BAD_HEADER',
  join2(['janee-vault/v2', ...head.slice(1, 3)], head[4], body),
  'v2 with only a scrypt stanza (v2 needs a recipient)',
);
add2(
  'v1-with-recipient',
  'VAULT_BAD_HEADER',
  join2(['janee-vault/v1', ...s2.stanzas.slice(1)], s2.mac, s2.body),
  'a v1 version line over X25519 stanzas',
);
add2(
  'v2-scrypt-after-recipient',
  'VAULT_BAD_HEADER',
  join2([s2.stanzas[0], ...s2.stanzas.slice(3), ...s2.stanzas.slice(1, 3)], s2.mac, s2.body),
  'the scrypt stanza after the X25519 stanzas',
);
add2(
  'v2-recipients-unsorted',
  'VAULT_BAD_HEADER',
  join2([...s2.stanzas.slice(0, 3), ...s2.stanzas.slice(5, 7), ...s2.stanzas.slice(3, 5)], s2.mac, s2.body),
  'recipients not sorted by name',
);
{
  const [, , share, rec, name] = s2.stanzas[5].split(' ');
  const bobAsAlice = `-> X25519 ${share} ${rec} alice`;
  add2(
    'v2-duplicate-name',
    'VAULT_BAD_HEADER',
    join2([...s2.stanzas.slice(0, 5), bobAsAlice, s2.stanzas[6]], s2.mac, s2.body),
    'two stanzas with the same name',
  );
  const aliceKeyAsBob = `-> X25519 ${share} ${REC.alice} ${name}`;
  add2(
    'v2-duplicate-key',
    'VAULT_BAD_HEADER',
    join2([...s2.stanzas.slice(0, 5), aliceKeyAsBob, s2.stanzas[6]], s2.mac, s2.body),
    'two stanzas with the same key',
  );
  const badSum = rec.slice(0, -1) + (rec.endsWith('q') ? 'p' : 'q');
  add2(
    'v2-recipient-bad-checksum',
    'VAULT_BAD_HEADER',
    join2([...s2.stanzas.slice(0, 5), `-> X25519 ${share} ${badSum} ${name}`, s2.stanzas[6]], s2.mac, s2.body),
    'an age1 key whose bech32 checksum is wrong',
  );
  add2(
    'v2-recipient-upper-case',
    'VAULT_BAD_HEADER',
    join2([...s2.stanzas.slice(0, 5), `-> X25519 ${share} ${rec.toUpperCase()} ${name}`, s2.stanzas[6]], s2.mac, s2.body),
    'an age1 key in upper case (writers use lower case only)',
  );
  add2(
    'v2-name-bad-char',
    'VAULT_BAD_HEADER',
    join2([...s2.stanzas.slice(0, 5), `-> X25519 ${share} ${rec} bo/b`, s2.stanzas[6]], s2.mac, s2.body),
    'a recipient name with a character outside the grammar',
  );
  add2(
    'v2-extra-space',
    'VAULT_BAD_HEADER',
    join2([...s2.stanzas.slice(0, 5), `-> X25519 ${share}  ${rec} ${name}`, s2.stanzas[6]], s2.mac, s2.body),
    'two spaces between stanza arguments',
  );
  add2(
    'v2-share-non-canonical-b64',
    'VAULT_BAD_HEADER',
    join2([...s2.stanzas.slice(0, 5), `-> X25519 ${nonCanonical(share)} ${rec} ${name}`, s2.stanzas[6]], s2.mac, s2.body),
    'non-canonical base64 in an ephemeral share',
  );
  add2(
    'v2-share-bitflip',
    'VAULT_BAD_HEADER',
    join2([...s2.stanzas.slice(0, 5), `-> X25519 ${flipB64(share, 9)} ${rec} ${name}`, s2.stanzas[6]], s2.mac, s2.body, {
      check: `# check ${b64(sha256(s2.stanzas.join('\n') + '\n').subarray(0, 8))}`,
    }),
    'one bit of a share flipped: the check line catches it',
    'bob',
  );
  add2(
    'v2-share-bitflip-rechecked',
    'VAULT_BAD_MAC',
    join2([...s2.stanzas.slice(0, 5), `-> X25519 ${flipB64(share, 9)} ${rec} ${name}`, s2.stanzas[6]], s2.mac, s2.body),
    'one bit of the share flipped and the check recomputed: the stanza does not open',
    'bob',
  );
  add2(
    'v2-share-low-order',
    'VAULT_BAD_MAC',
    join2([...s2.stanzas.slice(0, 5), `-> X25519 ${b64(new Uint8Array(32))} ${rec} ${name}`, s2.stanzas[6]], s2.mac, s2.body),
    'an all-zero (low-order) share: X25519 gives all zeros, which is refused',
    'bob',
  );
  add2(
    'v2-recipient-key-replaced',
    'VAULT_BAD_MAC',
    join2([...s2.stanzas.slice(0, 5), `-> X25519 ${share} ${REC.carol} ${name}`, s2.stanzas[6]], s2.mac, s2.body),
    "bob's stanza relabelled with carol's key: carol cannot open it",
    'carol',
  );
}
add2(
  'v2-wrapped-key-bitflip-rechecked',
  'VAULT_BAD_MAC',
  join2([...s2.stanzas.slice(0, 4), flipB64(s2.stanzas[4], 100), ...s2.stanzas.slice(5)], s2.mac, s2.body),
  "one bit of alice's wrapped key flipped, check recomputed",
);
add2(
  'v2-name-changed',
  'VAULT_BAD_MAC',
  join2([...s2.stanzas.slice(0, 5), s2.stanzas[5].replace(/ bob$/, ' bobby'), s2.stanzas[6]], s2.mac, s2.body),
  'a recipient renamed (check recomputed): the header MAC covers the names',
);
{
  // Someone without the file key adds themselves: a stanza for carol wrapping another key.
  const carol = recipient('carol', OTHER_FILE_KEY, 'carol-intruder');
  const line = `-> X25519 ${b64(carol.share)} ${carol.recipient} carol`;
  const added = join2([...s2.stanzas, line, b64(carol.wrappedKey)], s2.mac, s2.body);
  add2('v2-stanza-added', 'VAULT_BAD_MAC', added, 'a stanza added by someone without the file key, opened by the others', 'alice');
  add2('v2-stanza-added-intruder', 'VAULT_BAD_MAC', added, 'the same, opened by the intruder: the key it wraps fails the MAC', 'carol');
}
add2('v2-stanza-removed', 'VAULT_BAD_MAC', join2(s2.stanzas.slice(0, 5), s2.mac, s2.body), "bob's stanza removed (check recomputed)");
{
  // alice's stanza from a vault with another file key, spliced in (check recomputed).
  const other = split2(
    seal({ scrypt: H, recipients: [recipient('alice', OTHER_FILE_KEY, 'alice-other'), recipient('bob')] }, PT, 'v2-other', OTHER_FILE_KEY),
  );
  add2(
    'v2-stanza-swapped',
    'VAULT_BAD_MAC',
    join2([...s2.stanzas.slice(0, 3), ...other.stanzas.slice(3, 5), ...s2.stanzas.slice(5)], s2.mac, s2.body),
    "alice's stanza from a vault with another file key",
  );
}
add(
  'v2-recipients-stripped',
  'VAULT_BAD_MAC',
  join2(['janee-vault/v1', ...s2.stanzas.slice(1, 3)], s2.mac, s2.body),
  'the X25519 stanzas removed and the version set back to v1: the MAC covers it',
);
add2('v2-crlf', 'VAULT_BAD_HEADER', bytesOf(text(V2).replaceAll('\n', '\r\n')), 'CRLF line endings');
add2(
  'v2-truncated-in-stanza',
  'VAULT_BAD_HEADER',
  bytesOf(s2.stanzas.slice(0, 4).join('\n') + '\n' + s2.stanzas[4].slice(0, 20)),
  'cut inside a wrapped key line',
);
add2(
  'v2-payload-from-v1',
  'VAULT_BAD_PAYLOAD',
  join2(so.stanzas, so.mac, body),
  "a v1 vault's payload under a v2 header: the AAD binds them",
);
add('version-3', 'VAULT_UNSUPPORTED_VERSION', bytesOf(text(V).replace('janee-vault/v1\n', 'janee-vault/v3\n')), 'a newer format version');

// --- write ------------------------------------------------------------------------------

mkdirSync(OUT, { recursive: true });
for (const f of readdirSync(OUT)) if (f.endsWith('.txt')) rmSync(join(OUT, f));
for (const v of vectors) {
  const lines = [`expect: ${v.expect}`, v.identity ? `identity: ${v.identity}` : `passphrase: ${v.passphrase}`];
  if (v.expect === 'success') lines.push(`payload-sha256: ${hex(sha256(v.plaintext))}`);
  lines.push(`comment: ${v.comment}`);
  writeFileSync(join(OUT, `${v.name}.txt`), Buffer.concat([Buffer.from(lines.join('\n') + '\n\n'), Buffer.from(v.vault)]));
}
console.log(`wrote ${vectors.length} vectors to ${OUT}`);
