/**
 * The vault file format, v1 and v2. Pure: bytes in, bytes out; no file I/O.
 * The byte-exact specification is docs/vault-format.md — keep the two in step.
 *
 *     janee-vault/v1                               janee-vault/v2
 *     -> scrypt <salt, 16 bytes> <log2 N>          [-> scrypt <salt> <log2 N>
 *     <wrapped file key, 48 bytes>                  <wrapped file key>]           (optional)
 *                                                  -> X25519 <share> <age1…> <name>
 *                                                  <wrapped file key>             (one or more)
 *     # check <first 8 bytes of SHA-256 over the lines above>
 *     --- <HMAC-SHA-256 over the header up to and including "---">
 *     <payload: nonce ‖ XChaCha20-Poly1305 ciphertext, 64 columns a line, last line shorter>
 *
 * A vault is written as v1 while it has no recipient, so a passphrase-only vault never
 * changes format. Every base64 string is standard-alphabet, unpadded and canonical.
 * Lines end in LF.
 */
import { randomBytes } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { JaneeError } from '../errors.js';
import { secret } from '../util/secret.js';
import { b64decode, b64encode, concat, ctEqual } from './bytes.js';
import { scryptAsync } from './scrypt.js';
import { encodeRecipient, parseRecipient, publicKeyOf, x25519Unwrap, x25519Wrap } from './x25519.js';

/** Work factor `janee init` uses unless told otherwise (256 MiB, as age). */
export const DEFAULT_LOG_N = 18;
/** Readers refuse anything above this before doing any scrypt work (DoS guard; 4 GiB). */
export const MAX_LOG_N = 22;
/** Writers refuse anything below this. Readers accept any log2 N in 1..MAX_LOG_N. */
export const MIN_LOG_N = 10;
/** The CLI warns when asked to write a vault below this. */
export const WARN_BELOW_LOG_N = 15;

export const VERSION_LINE = 'janee-vault/v1';
export const VERSION_LINE_V2 = 'janee-vault/v2';
export const SCRYPT_LABEL = 'janee.dev/v1/scrypt';
/** HKDF info of an X25519 stanza's wrap key: janee's own, so a vault stanza is never an age one. */
export const X25519_LABEL = 'janee.dev/v2/X25519';
const HEADER_MAC_INFO = 'janee.dev/v1/header';
const PAYLOAD_INFO = 'janee.dev/v1/payload';
const FINGERPRINT_INFO = 'janee.dev/v1/fingerprint';
/** Columns of a full payload line. The last payload line is always shorter (maybe empty). */
const PAYLOAD_LINE_WIDTH = 64;

const FILE_KEY_LEN = 32;
const SALT_LEN = 16;
const WRAPPED_KEY_LEN = FILE_KEY_LEN + 16;
const SHARE_LEN = 32;
/** A recipient's name: what `janee recipients add --name` accepts. */
export const RECIPIENT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;
const CHECK_LEN = 8;
const MAC_LEN = 32;
const NONCE_LEN = 24;
const TAG_LEN = 16;
/**
 * Most recipient stanzas a vault may have. A team vault has a few; a file with a
 * million (a hostile pull request, 150 MB) would make every command parse it for
 * minutes. `janee recipients add` refuses one more.
 */
export const MAX_RECIPIENTS = 1024;
/** Largest log2 N the header grammar admits (two decimal digits); above MAX_LOG_N is refused at unwrap. */
const GRAMMAR_MAX_LOG_N = 99;

/** The passphrase's stanza (the whole header of a v1 vault). */
export interface ScryptStanza {
  /** log2 of scrypt's N (r = 8, p = 1). */
  logN: number;
  /** 16 random bytes. */
  salt: Uint8Array;
  /** XChaCha20-Poly1305 of the 32-byte file key: 48 bytes. */
  wrappedKey: Uint8Array;
}

/** One X25519 recipient (v2). Name and public key are in the header, so the header MAC covers them. */
export interface RecipientStanza {
  /** What `janee recipients` calls this member. */
  name: string;
  /** The member's `age1…` public key (lower case, canonical). */
  recipient: string;
  /** The 32-byte ephemeral share. */
  share: Uint8Array;
  /** ChaCha20-Poly1305 of the 32-byte file key: 48 bytes. */
  wrappedKey: Uint8Array;
}

/** What wraps the file key: the passphrase, the recipients, or both; never neither. Recipients sorted by name. */
export interface VaultHeader {
  scrypt?: ScryptStanza | undefined;
  recipients: RecipientStanza[];
}

/** A header, or a bare scrypt stanza (what wrapFileKey returns) meaning a passphrase-only header. */
export type HeaderLike = VaultHeader | ScryptStanza;

export function asHeader(h: HeaderLike): VaultHeader {
  return 'recipients' in h ? h : { scrypt: h, recipients: [] };
}

/** How a vault is opened: the passphrase (bytes), or age X25519 identities (32-byte secret keys). */
export type Unlocker = Uint8Array | { identities: Uint8Array[] };

export interface ParsedVault {
  header: VaultHeader;
  /**
   * The whole header as text: the five header lines, each with its LF, i.e. up to and
   * including the LF that ends the `--- <mac>` line. This is the payload's AAD.
   */
  headerText: string;
  /** The 32-byte header MAC from the `---` line. */
  mac: Uint8Array;
  /** The payload's 24-byte nonce. */
  nonce: Uint8Array;
  /** The payload's ciphertext including the 16-byte Poly1305 tag. */
  ciphertext: Uint8Array;
}

// ---------------------------------------------------------------------------
// errors

const HINT_DAMAGED = 'restore <vault>.bak or the copy in git';
const HINT_PASSPHRASE = 'check the passphrase (JANEE_PASSPHRASE / JANEE_PASSPHRASE_FILE if set)';

function badHeader(message: string, hint = HINT_DAMAGED): JaneeError {
  return new JaneeError('VAULT_BAD_HEADER', message, hint);
}
function badPayload(message: string): JaneeError {
  return new JaneeError('VAULT_BAD_PAYLOAD', message, HINT_DAMAGED);
}

// ---------------------------------------------------------------------------
// argument checks (programming errors, not file damage: TypeError / RangeError)

function abytes(value: unknown, title: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${title}: Uint8Array expected, got ${typeof value}`);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${title}: Uint8Array of length ${length} expected, got length=${value.length}`);
  }
}

function ascrypt(header: ScryptStanza, title: string): void {
  if (typeof header !== 'object' || header === null) throw new TypeError(`${title}: header object expected`);
  const { logN } = header;
  if (!Number.isInteger(logN) || logN < 1 || logN > GRAMMAR_MAX_LOG_N) {
    throw new RangeError(`${title}: header.logN must be an integer in 1..${GRAMMAR_MAX_LOG_N}, got ${String(logN)}`);
  }
  abytes(header.salt, `${title}: header.salt`, SALT_LEN);
  abytes(header.wrappedKey, `${title}: header.wrappedKey`, WRAPPED_KEY_LEN);
}

/** Checks a header and returns it normalised: sorted, unique names and keys, at least one stanza. */
function aheader(h: HeaderLike, title: string): VaultHeader {
  if (typeof h !== 'object' || h === null) throw new TypeError(`${title}: header object expected`);
  const header = asHeader(h);
  if (header.scrypt !== undefined) ascrypt(header.scrypt, title);
  if (!Array.isArray(header.recipients)) throw new TypeError(`${title}: header.recipients must be an array`);
  if (header.scrypt === undefined && header.recipients.length === 0) throw new RangeError(`${title}: header has no stanza`);
  let prev = '';
  const keys = new Set<string>();
  for (const r of header.recipients) {
    if (!RECIPIENT_NAME_RE.test(r.name)) throw new RangeError(`${title}: bad recipient name`);
    if (r.name <= prev) throw new RangeError(`${title}: recipients must be sorted by name, without duplicates`);
    if (parseRecipient(r.recipient) === undefined || keys.has(r.recipient))
      throw new RangeError(`${title}: bad or duplicate recipient key`);
    abytes(r.share, `${title}: recipient share`, SHARE_LEN);
    abytes(r.wrappedKey, `${title}: recipient wrappedKey`, WRAPPED_KEY_LEN);
    prev = r.name;
    keys.add(r.recipient);
  }
  return header;
}

// ---------------------------------------------------------------------------
// byte / text helpers

export { b64decode, b64encode };

/** Header text is ASCII by construction; latin1 keeps one char per byte for parsing. */
function ascii(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'latin1'));
}

function headerChecksum(linesAbove: string): Uint8Array {
  return sha256(ascii(linesAbove)).subarray(0, CHECK_LEN);
}

function hkdf32(fileKey: Uint8Array, salt: Uint8Array | undefined, info: string): Uint8Array {
  return hkdf(sha256, fileKey, salt, ascii(info), 32);
}

function headerMac(fileKey: Uint8Array, macInput: string): Uint8Array {
  using key = secret(hkdf32(fileKey, undefined, HEADER_MAC_INFO));
  return hmac(sha256, key.bytes, ascii(macInput));
}

// ---------------------------------------------------------------------------
// key wrapping

/** 32 fresh random bytes. */
export function generateFileKey(): Uint8Array {
  return Uint8Array.from(randomBytes(FILE_KEY_LEN));
}

async function passphraseKey(passphrase: Uint8Array, salt: Uint8Array, logN: number): Promise<Uint8Array> {
  const label = ascii(SCRYPT_LABEL);
  try {
    return await scryptAsync(passphrase, concat(label, salt), logN, 32);
  } catch {
    throw new JaneeError(
      'VAULT_WORK_FACTOR',
      `scrypt failed at work factor 2^${logN} (not enough memory?)`,
      'free memory, or re-create the vault with a lower --work-factor',
    );
  }
}

/**
 * Wraps the file key under the passphrase with a fresh random salt.
 * `opts.salt` fixes the salt (test vectors only).
 */
export async function wrapFileKey(
  passphrase: Uint8Array,
  fileKey: Uint8Array,
  logN: number,
  opts: { salt?: Uint8Array } = {},
): Promise<ScryptStanza> {
  abytes(passphrase, 'wrapFileKey: passphrase');
  if (passphrase.length === 0) throw new RangeError('wrapFileKey: passphrase must not be empty');
  abytes(fileKey, 'wrapFileKey: fileKey', FILE_KEY_LEN);
  if (!Number.isInteger(logN) || logN < MIN_LOG_N || logN > MAX_LOG_N) {
    throw new RangeError(`wrapFileKey: log2 N must be an integer in ${MIN_LOG_N}..${MAX_LOG_N}, got ${String(logN)}`);
  }
  let salt: Uint8Array;
  if (opts.salt !== undefined) {
    abytes(opts.salt, 'wrapFileKey: opts.salt', SALT_LEN);
    salt = Uint8Array.from(opts.salt);
  } else {
    salt = Uint8Array.from(randomBytes(SALT_LEN));
  }
  using key = secret(await passphraseKey(passphrase, salt, logN));
  const wrappedKey = xchacha20poly1305(key.bytes, new Uint8Array(NONCE_LEN)).encrypt(fileKey);
  return { logN, salt, wrappedKey };
}

/**
 * Recovers the file key. Refuses log2 N > MAX_LOG_N before any scrypt work
 * (VAULT_WORK_FACTOR); a key that does not unwrap is VAULT_BAD_PASSPHRASE (parseVault has
 * already ruled out accidental damage to the header with its checksum).
 */
export async function unwrapFileKey(h: HeaderLike, passphrase: Uint8Array): Promise<Uint8Array> {
  const { scrypt: header } = aheader(h, 'unwrapFileKey');
  abytes(passphrase, 'unwrapFileKey: passphrase');
  if (header === undefined) {
    throw new JaneeError(
      'VAULT_NO_PASSPHRASE',
      'this vault has no passphrase: it opens only with a recipient identity',
      'use `--identity FILE` or set JANEE_IDENTITY_FILE to your age identity file',
    );
  }
  if (header.logN > MAX_LOG_N) {
    throw new JaneeError(
      'VAULT_WORK_FACTOR',
      `refusing work factor 2^${header.logN} (max 2^${MAX_LOG_N})`,
      `janee never writes more than 2^${MAX_LOG_N}: restore <vault>.bak or the copy in git`,
    );
  }
  using key = secret(await passphraseKey(passphrase, header.salt, header.logN));
  try {
    return xchacha20poly1305(key.bytes, new Uint8Array(NONCE_LEN)).decrypt(header.wrappedKey);
  } catch {
    throw new JaneeError('VAULT_BAD_PASSPHRASE', 'wrong passphrase', HINT_PASSPHRASE);
  }
}

/** Wraps the file key for one X25519 recipient. `opts.ephemeral` fixes the ephemeral secret (test vectors only). */
export function wrapForRecipient(
  fileKey: Uint8Array,
  name: string,
  recipient: string,
  opts: { ephemeral?: Uint8Array } = {},
): RecipientStanza {
  abytes(fileKey, 'wrapForRecipient: fileKey', FILE_KEY_LEN);
  if (!RECIPIENT_NAME_RE.test(name)) throw new RangeError('wrapForRecipient: bad recipient name');
  const pub = parseRecipient(recipient);
  if (pub === undefined) throw new RangeError('wrapForRecipient: not an age1… recipient');
  const { share, body } = x25519Wrap(fileKey, pub, X25519_LABEL, opts);
  return { name, recipient, share, wrappedKey: body };
}

/**
 * Recovers the file key with X25519 identities (32-byte secret keys): the stanza whose
 * public key is an identity's is the one tried, so no identity is tried against another
 * member's stanza. VAULT_NOT_RECIPIENT when none is a recipient; VAULT_BAD_MAC when the
 * stanza that names an identity does not open with it (the header was tampered with:
 * the check line rules out accidental damage).
 */
export function unwrapWithIdentities(h: HeaderLike, identities: Uint8Array[]): Uint8Array {
  const header = aheader(h, 'unwrapWithIdentities');
  for (const id of identities) {
    abytes(id, 'unwrapWithIdentities: identity', 32);
    const mine = encodeRecipient(publicKeyOf(id));
    const stanza = header.recipients.find((r) => r.recipient === mine);
    if (stanza === undefined) continue;
    const key = x25519Unwrap(id, stanza.share, stanza.wrappedKey, X25519_LABEL);
    if (key === undefined || key.length !== FILE_KEY_LEN) {
      key?.fill(0);
      throw new JaneeError('VAULT_BAD_MAC', 'vault header failed authentication (damaged or tampered with)', HINT_DAMAGED);
    }
    return key;
  }
  throw new JaneeError(
    'VAULT_NOT_RECIPIENT',
    header.recipients.length === 0
      ? 'this vault has no recipients: it opens only with its passphrase'
      : 'the identity is not a recipient of this vault',
    header.recipients.length === 0
      ? 'unset JANEE_IDENTITY_FILE / drop --identity and give the passphrase'
      : 'ask a member to run `janee recipients add <your age1… key> --name NAME` (janee recipients list shows who is one)',
  );
}

export function sortRecipients(list: RecipientStanza[]): RecipientStanza[] {
  return [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Wipes a passphrase or identities. */
export function wipeUnlocker(u: Unlocker): void {
  if (u instanceof Uint8Array) u.fill(0);
  else for (const k of u.identities) k.fill(0);
}

/** The file key, by passphrase or by identity. */
export async function unwrapWith(h: HeaderLike, unlocker: Unlocker): Promise<Uint8Array> {
  return unlocker instanceof Uint8Array ? unwrapFileKey(h, unlocker) : unwrapWithIdentities(h, unlocker.identities);
}

// ---------------------------------------------------------------------------
// parsing

/** Reads one LF-terminated line from `s` at `pos`; undefined if there is no LF. */
function lineAt(s: string, pos: number): { line: string; next: number } | undefined {
  const nl = s.indexOf('\n', pos);
  if (nl < 0) return undefined;
  return { line: s.slice(pos, nl), next: nl + 1 };
}

const VERSION_RE = /^janee-vault\/v([1-9][0-9]{0,8})\r?$/;
const SCRYPT_RE = /^-> scrypt ([A-Za-z0-9+/]{22}) ([1-9][0-9]?)$/;
const X25519_RE = /^-> X25519 ([A-Za-z0-9+/]{43}) (age1[02-9ac-hj-np-z]{58}) ([A-Za-z0-9][A-Za-z0-9._@+-]{0,63})$/;
const WRAPPED_RE = /^[A-Za-z0-9+/]{64}$/;
const CHECK_RE = /^# check ([A-Za-z0-9+/]{11})$/;
const MAC_RE = /^--- ([A-Za-z0-9+/]{43})$/;

/** The version (1 or 2) and where line 2 starts. */
function parseVersion(s: string): { version: 1 | 2; next: number } {
  const nl = s.indexOf('\n');
  const first = nl < 0 ? s : s.slice(0, nl);
  if (first === VERSION_LINE || first === VERSION_LINE_V2) {
    if (nl < 0) throw badHeader('vault header is truncated');
    return { version: first === VERSION_LINE ? 1 : 2, next: nl + 1 };
  }
  if (first === `${VERSION_LINE}\r` || first === `${VERSION_LINE_V2}\r`) {
    throw badHeader(
      'vault file has CRLF line endings',
      'restore <vault>.bak or the copy in git, and mark the vault `-text` in .gitattributes',
    );
  }
  const m = VERSION_RE.exec(first);
  if (m !== null) {
    throw new JaneeError('VAULT_UNSUPPORTED_VERSION', `vault format v${m[1]} is newer than this janee supports (v2)`, 'upgrade janee');
  }
  if (nl < 0 && (VERSION_LINE.startsWith(first) || VERSION_LINE_V2.startsWith(first))) throw badHeader('vault header is truncated');
  throw badHeader('not a janee vault', 'check the vault path (JANEE_VAULT or vault: in config.yaml)');
}

function headerLine(s: string, pos: number, what: string, re: RegExp): { m: RegExpExecArray; next: number } {
  const l = lineAt(s, pos);
  if (l === undefined) throw badHeader('vault header is truncated');
  const m = re.exec(l.line);
  if (m === null) throw badHeader(`vault header is damaged (malformed ${what} line)`);
  return { m, next: l.next };
}

function headerB64(text: string | undefined, length: number, what: string): Uint8Array {
  const bytes = text === undefined ? undefined : b64decode(text);
  if (bytes === undefined || bytes.length !== length) {
    throw badHeader(`vault header is damaged (non-canonical base64 in ${what})`);
  }
  return bytes;
}

/**
 * Strict, canonical parse. Checks structure and encoding and the unkeyed header checksum;
 * uses no key. Throws JaneeError: VAULT_EMPTY, VAULT_UNSUPPORTED_VERSION, VAULT_BAD_HEADER
 * (anything up to and including the `---` line), VAULT_BAD_PAYLOAD (anything after it).
 */
export function parseVault(bytes: Uint8Array): ParsedVault {
  abytes(bytes, 'parseVault: bytes');
  if (bytes.length === 0) {
    throw new JaneeError('VAULT_EMPTY', 'vault file is empty', `${HINT_DAMAGED}, or delete it and run janee init`);
  }
  // latin1: one char per byte, so any non-ASCII byte simply fails the grammar below.
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

  const version = parseVersion(s);
  let pos = version.next;
  let scrypt: ScryptStanza | undefined;
  // v1: exactly one scrypt stanza. v2: an optional scrypt stanza, then one or more X25519.
  if (version.version === 1 || s.startsWith('-> scrypt ', pos)) {
    const line = headerLine(s, pos, 'scrypt', SCRYPT_RE);
    const wrapped = headerLine(s, line.next, 'wrapped key', WRAPPED_RE);
    pos = wrapped.next;
    scrypt = {
      logN: Number(line.m[2]),
      salt: headerB64(line.m[1], SALT_LEN, 'salt'),
      wrappedKey: headerB64(wrapped.m[0], WRAPPED_KEY_LEN, 'wrapped key'),
    };
  }
  const recipients: RecipientStanza[] = [];
  const keys = new Set<string>();
  while (version.version === 2 && (recipients.length === 0 || s.startsWith('-> ', pos))) {
    if (recipients.length === MAX_RECIPIENTS) throw badHeader(`vault header has more than ${MAX_RECIPIENTS} recipients`);
    const line = headerLine(s, pos, 'X25519', X25519_RE);
    const wrapped = headerLine(s, line.next, 'wrapped key', WRAPPED_RE);
    pos = wrapped.next;
    const [, share, recipient, name] = line.m as unknown as [string, string, string, string];
    const prev = recipients[recipients.length - 1];
    if (prev !== undefined && prev.name >= name)
      throw badHeader('vault header is damaged (recipients not sorted by name, or a name twice)');
    if (keys.has(recipient)) throw badHeader('vault header is damaged (a recipient key twice)');
    keys.add(recipient);
    if (parseRecipient(recipient) === undefined) throw badHeader('vault header is damaged (bad age1 recipient checksum)');
    recipients.push({
      name,
      recipient,
      share: headerB64(share, SHARE_LEN, 'X25519 share'),
      wrappedKey: headerB64(wrapped.m[0], WRAPPED_KEY_LEN, 'wrapped key'),
    });
  }
  const checkedText = s.slice(0, pos);
  const check = headerLine(s, pos, 'check', CHECK_RE);
  pos = check.next;
  const sum = headerB64(check.m[1], CHECK_LEN, 'check');
  if (!ctEqual(sum, headerChecksum(checkedText))) {
    throw badHeader('vault header is damaged (checksum mismatch)');
  }
  const mac = headerLine(s, pos, 'mac', MAC_RE);
  pos = mac.next;
  const macBytes = headerB64(mac.m[1], MAC_LEN, 'mac');
  const headerText = s.slice(0, pos);

  // Payload: full lines of exactly 64 columns, then one shorter (possibly empty) line,
  // then end of file. Every line ends in LF.
  if (pos === s.length) throw badPayload('vault payload is missing (file truncated)');
  const parts: string[] = [];
  for (;;) {
    const l = lineAt(s, pos);
    if (l === undefined) throw badPayload('vault payload is truncated (last line has no newline)');
    if (l.line.length > PAYLOAD_LINE_WIDTH) throw badPayload('vault payload is damaged (line too long)');
    parts.push(l.line);
    pos = l.next;
    if (l.line.length < PAYLOAD_LINE_WIDTH) break;
    if (pos === s.length) throw badPayload('vault payload is truncated (no final short line)');
  }
  if (pos !== s.length) throw badPayload('vault payload is damaged (trailing data after the payload)');
  const body = b64decode(parts.join(''));
  if (body === undefined) throw badPayload('vault payload is damaged (invalid or non-canonical base64)');
  if (body.length < NONCE_LEN + TAG_LEN) throw badPayload('vault payload is truncated (too short)');

  return {
    header: { scrypt, recipients },
    headerText,
    mac: macBytes,
    nonce: body.slice(0, NONCE_LEN),
    ciphertext: body.slice(NONCE_LEN),
  };
}

// ---------------------------------------------------------------------------
// open / seal

/** The header text up to and including `---` (the MAC's input). */
function macInputOf(headerText: string): string {
  const i = headerText.lastIndexOf('\n--- ');
  if (i < 0) throw new RangeError('parsed vault: headerText has no mac line');
  return headerText.slice(0, i + 4);
}

function aparsed(parsed: ParsedVault, title: string): void {
  if (typeof parsed !== 'object' || parsed === null) throw new TypeError(`${title}: parsed vault expected`);
  if (typeof parsed.headerText !== 'string') throw new TypeError(`${title}: parsed.headerText must be a string`);
  abytes(parsed.mac, `${title}: parsed.mac`, MAC_LEN);
  abytes(parsed.nonce, `${title}: parsed.nonce`, NONCE_LEN);
  abytes(parsed.ciphertext, `${title}: parsed.ciphertext`);
}

/** True iff the header MAC verifies under this file key. */
export function headerMatchesKey(parsed: ParsedVault, fileKey: Uint8Array): boolean {
  aparsed(parsed, 'headerMatchesKey');
  abytes(fileKey, 'headerMatchesKey: fileKey', FILE_KEY_LEN);
  return ctEqual(headerMac(fileKey, macInputOf(parsed.headerText)), parsed.mac);
}

/**
 * Verifies the header MAC (VAULT_BAD_MAC), then decrypts the payload (VAULT_BAD_PAYLOAD).
 * Returns the plaintext; the caller wipes it when done.
 */
export function openVault(parsed: ParsedVault, fileKey: Uint8Array): Uint8Array {
  if (!headerMatchesKey(parsed, fileKey)) {
    throw new JaneeError('VAULT_BAD_MAC', 'vault header failed authentication (damaged or tampered with)', HINT_DAMAGED);
  }
  using key = secret(hkdf32(fileKey, parsed.nonce, PAYLOAD_INFO));
  try {
    return xchacha20poly1305(key.bytes, parsed.nonce, ascii(parsed.headerText)).decrypt(parsed.ciphertext);
  } catch {
    throw badPayload('vault payload failed authentication (damaged or tampered with)');
  }
}

/**
 * The canonical file bytes for this header, file key and plaintext, with a fresh random
 * payload nonce. `opts.nonce` fixes the nonce (test vectors only: never reuse one).
 * The header must be what wrapFileKey made for this file key; it is not re-checked here.
 */
export function sealVault(h: HeaderLike, fileKey: Uint8Array, plaintext: Uint8Array, opts: { nonce?: Uint8Array } = {}): Uint8Array {
  const header = aheader(h, 'sealVault');
  abytes(fileKey, 'sealVault: fileKey', FILE_KEY_LEN);
  abytes(plaintext, 'sealVault: plaintext');
  let nonce: Uint8Array;
  if (opts.nonce !== undefined) {
    abytes(opts.nonce, 'sealVault: opts.nonce', NONCE_LEN);
    nonce = Uint8Array.from(opts.nonce);
  } else {
    nonce = Uint8Array.from(randomBytes(NONCE_LEN));
  }

  const checked = stanzaText(header);
  const withCheck = `${checked}# check ${b64encode(headerChecksum(checked))}\n`;
  const macInput = `${withCheck}---`;
  const headerText = `${macInput} ${b64encode(headerMac(fileKey, macInput))}\n`;

  const body = b64encode(concat(nonce, encryptPayload(fileKey, nonce, headerText, plaintext)));
  const lines: string[] = [];
  for (let i = 0; i + PAYLOAD_LINE_WIDTH <= body.length; i += PAYLOAD_LINE_WIDTH) {
    lines.push(body.slice(i, i + PAYLOAD_LINE_WIDTH));
  }
  lines.push(body.slice(lines.length * PAYLOAD_LINE_WIDTH)); // shorter than 64, maybe empty
  return ascii(`${headerText}${lines.join('\n')}\n`);
}

/** The version line and the stanzas: what the check line sums. v1 while there is no recipient. */
function stanzaText(header: VaultHeader): string {
  const { scrypt, recipients } = header;
  let out = `${recipients.length === 0 ? VERSION_LINE : VERSION_LINE_V2}\n`;
  if (scrypt !== undefined) out += `-> scrypt ${b64encode(scrypt.salt)} ${scrypt.logN}\n${b64encode(scrypt.wrappedKey)}\n`;
  for (const r of recipients) out += `-> X25519 ${b64encode(r.share)} ${r.recipient} ${r.name}\n${b64encode(r.wrappedKey)}\n`;
  return out;
}

function encryptPayload(fileKey: Uint8Array, nonce: Uint8Array, headerText: string, plaintext: Uint8Array): Uint8Array {
  using key = secret(hkdf32(fileKey, nonce, PAYLOAD_INFO));
  return xchacha20poly1305(key.bytes, nonce, ascii(headerText)).encrypt(plaintext);
}

// ---------------------------------------------------------------------------
// fingerprints

/**
 * A short keyed fingerprint of one secret field, for `git diff` of the vault: the first
 * 8 bytes (16 hex chars) of HMAC-SHA-256(HKDF(fileKey, info "janee.dev/v1/fingerprint"),
 * name ‖ 0x00 ‖ field ‖ 0x00 ‖ value), UTF-8. Without the file key it reveals nothing
 * about the value, not even to a dictionary attack.
 */
export function fingerprint(fileKey: Uint8Array, name: string, field: string, value: string): string {
  abytes(fileKey, 'fingerprint: fileKey', FILE_KEY_LEN);
  if (typeof name !== 'string' || typeof field !== 'string' || typeof value !== 'string') {
    throw new TypeError('fingerprint: name, field and value must be strings');
  }
  if (name.includes('\0') || field.includes('\0')) throw new RangeError('fingerprint: name and field must not contain NUL');
  const enc = new TextEncoder();
  using key = secret(hkdf32(fileKey, undefined, FINGERPRINT_INFO));
  using msg = secret(concat(enc.encode(name), new Uint8Array(1), enc.encode(field), new Uint8Array(1), enc.encode(value)));
  return Buffer.from(hmac(sha256, key.bytes, msg.bytes).subarray(0, 8)).toString('hex');
}
