/**
 * A small, strict implementation of the age v1 file format
 * (https://age-encryption.org/v1, C2SP age spec), restricted to the scrypt
 * (passphrase) and X25519 (age1… public key) recipient types.
 *
 *   header  = "age-encryption.org/v1" LF
 *             "-> scrypt " b64(salt16) " " logN LF  body (b64, 64-column lines, last one < 64)
 *           | ("-> X25519 " b64(share32) LF  body)+        (x25519.ts)
 *             "--- " b64(HMAC-SHA-256(HKDF(file key, "", "header"), header up to "---")) LF
 *   payload = nonce16 || STREAM(ChaCha20-Poly1305, HKDF(file key, nonce, "payload"), 64 KiB chunks)
 *
 * Output is the binary format. Input may be binary or ASCII-armored (strict PEM,
 * label "AGE ENCRYPTED FILE"). Base64 everywhere is canonical, unpadded (armor: padded),
 * and anything else is rejected. Decryption is all-or-nothing: no plaintext is
 * released unless every chunk authenticates.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { JaneeError } from '../errors.js';
import { secret } from '../util/secret.js';
import { b64decode, b64encode, concat, ctEqual } from './bytes.js';
import { scryptAsync } from './scrypt.js';
import { AGE_X25519_LABEL, x25519Unwrap, x25519Wrap } from './x25519.js';

/** A passphrase, or X25519 public keys (32 bytes each) to encrypt to. */
export type AgeTo = Uint8Array | { recipients: Uint8Array[] };
/** A passphrase, or X25519 secret keys (32 bytes each) to decrypt with. */
export type AgeFrom = Uint8Array | { identities: Uint8Array[] };

interface AgeEncryptOptions {
  /** log2 of the scrypt work factor; default 18 (what `age -p` uses). */
  logN?: number;
}

interface AgeDecryptOptions {
  /** Highest log2 work factor accepted before any scrypt work is done; default 22 (age's default). */
  maxLogN?: number;
}

const VERSION_LINE = 'age-encryption.org/v1';
const VERSION_PREFIX = 'age-encryption.org/';
const SCRYPT_LABEL = 'age-encryption.org/v1/scrypt';
const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
const ARMOR_END = '-----END AGE ENCRYPTED FILE-----';
const COLUMNS = 64;
const FILE_KEY_SIZE = 16;
const SALT_SIZE = 16;
const NONCE_SIZE = 16;
const TAG_SIZE = 16;
const CHUNK_SIZE = 64 * 1024;
const ENC_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;
const DEFAULT_LOG_N = 18;
const DEFAULT_MAX_LOG_N = 22;
const MAX_LOG_N = 30;

const enc = new TextEncoder();
const ZERO_NONCE = new Uint8Array(12);

// ---------------------------------------------------------------------------
// errors

function badHeader(message: string): JaneeError {
  return new JaneeError('AGE_BAD_HEADER', message, 'the file is not a valid age file or was damaged');
}
function badPayload(message: string): JaneeError {
  return new JaneeError('AGE_BAD_PAYLOAD', message, 'the file was truncated or modified after encryption');
}

// ---------------------------------------------------------------------------
// helpers

function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** STREAM nonce: 11-byte big-endian chunk counter || last-chunk flag. */
function streamNonce(counter: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(12);
  let c = counter;
  for (let i = 10; i >= 0 && c > 0; i--) {
    nonce[i] = c % 256;
    c = Math.floor(c / 256);
  }
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Wraps base64 at 64 columns; the final line is always shorter than 64 (possibly empty). */
function wrapBody(body: Uint8Array): string {
  const s = b64encode(body);
  let out = '';
  let i = 0;
  for (; i + COLUMNS <= s.length; i += COLUMNS) out += s.slice(i, i + COLUMNS) + '\n';
  return out + s.slice(i) + '\n';
}

function checkLogN(logN: number, what: string): void {
  if (!Number.isInteger(logN) || logN < 1 || logN > MAX_LOG_N) {
    throw new JaneeError('AGE_WORK_FACTOR', `${what} must be an integer from 1 to ${MAX_LOG_N}`);
  }
}

function scryptSalt(salt: Uint8Array): Uint8Array {
  return concat(enc.encode(SCRYPT_LABEL), salt);
}

async function deriveWrapKey(passphrase: Uint8Array, salt: Uint8Array, logN: number): Promise<Uint8Array> {
  try {
    return await scryptAsync(passphrase, scryptSalt(salt), logN, 32);
  } catch {
    throw new JaneeError('AGE_WORK_FACTOR', 'scrypt work factor too large for this machine');
  }
}

function headerMac(fileKey: Uint8Array, headerUpToDashes: Uint8Array): Uint8Array {
  using key = secret(hkdf(sha256, fileKey, new Uint8Array(0), enc.encode('header'), 32));
  return hmac(sha256, key.bytes, headerUpToDashes);
}

// ---------------------------------------------------------------------------
// encrypt

export async function encryptAge(plaintext: Uint8Array, to: AgeTo, opts: AgeEncryptOptions = {}): Promise<Uint8Array> {
  using fileKey = secret(randomBytes(FILE_KEY_SIZE));
  let stanzas: string;
  if (to instanceof Uint8Array) {
    const logN = opts.logN ?? DEFAULT_LOG_N;
    checkLogN(logN, 'scrypt work factor');
    if (to.length === 0) throw new JaneeError('AGE_BAD_PASSPHRASE', 'passphrase is empty');
    const salt = randomBytes(SALT_SIZE);
    using wrapKey = secret(await deriveWrapKey(to, salt, logN));
    const body = chacha20poly1305(wrapKey.bytes, ZERO_NONCE).encrypt(fileKey.bytes);
    stanzas = `-> scrypt ${b64encode(salt)} ${logN}\n${wrapBody(body)}`;
  } else {
    if (to.recipients.length === 0) throw new RangeError('encryptAge: no recipients');
    stanzas = to.recipients
      .map((r) => {
        const { share, body } = x25519Wrap(fileKey.bytes, r, AGE_X25519_LABEL);
        return `-> X25519 ${b64encode(share)}\n${wrapBody(body)}`;
      })
      .join('');
  }

  const headerText = `${VERSION_LINE}\n${stanzas}---`;
  const headerBytes = enc.encode(headerText);
  const mac = headerMac(fileKey.bytes, headerBytes);
  const header = concat(headerBytes, enc.encode(` ${b64encode(mac)}\n`));

  const nonce = randomBytes(NONCE_SIZE);
  using payloadKey = secret(hkdf(sha256, fileKey.bytes, nonce, enc.encode('payload'), 32));
  const chunks = Math.max(1, Math.ceil(plaintext.length / CHUNK_SIZE));
  const out = new Uint8Array(header.length + NONCE_SIZE + plaintext.length + chunks * TAG_SIZE);
  out.set(header, 0);
  out.set(nonce, header.length);
  let off = header.length + NONCE_SIZE;
  for (let i = 0; i < chunks; i++) {
    const chunk = plaintext.subarray(i * CHUNK_SIZE, Math.min((i + 1) * CHUNK_SIZE, plaintext.length));
    const sealed = chacha20poly1305(payloadKey.bytes, streamNonce(i, i === chunks - 1)).encrypt(chunk);
    out.set(sealed, off);
    off += sealed.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// decrypt

interface Stanza {
  args: string[]; // args[0] is the type
  body: Uint8Array;
}

interface ParsedHeader {
  stanzas: Stanza[];
  /** Header bytes up to and including "---" (the HMAC input). */
  macInput: Uint8Array;
  mac: Uint8Array;
  payloadOffset: number;
}

/** Reads one LF-terminated line of printable ASCII starting at `pos`. */
function readLine(file: Uint8Array, pos: number): { line: string; next: number } {
  const end = file.indexOf(0x0a, pos);
  if (end < 0) throw badHeader('age header is truncated');
  let line = '';
  for (let i = pos; i < end; i++) {
    const c = file[i] as number;
    // Every header line is VCHAR / SP; this also rejects CR (no CRLF headers).
    if (c < 0x20 || c > 0x7e) throw badHeader('age header has an invalid character');
    line += String.fromCharCode(c);
  }
  return { line, next: end + 1 };
}

function isVchars(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** Most recipient stanzas in an age header, and 64-column lines in one stanza's body (64 KiB). */
const MAX_STANZAS = 1024;
const MAX_BODY_LINES = 1024;

function parseHeader(file: Uint8Array): ParsedHeader {
  // Version line. Anything after a different version line is a different format.
  const prefix = enc.encode(VERSION_PREFIX);
  const hasPrefix = file.length >= prefix.length && prefix.every((b, i) => file[i] === b);
  if (!hasPrefix) throw badHeader('not an age file');
  const { line: version, next: afterVersion } = readLine(file, 0);
  if (version !== VERSION_LINE) {
    throw new JaneeError('AGE_UNSUPPORTED', 'unsupported age format version', 'only age-encryption.org/v1 files are supported');
  }

  const stanzas: Stanza[] = [];
  let pos = afterVersion;
  for (;;) {
    const lineStart = pos;
    const { line, next } = readLine(file, pos);
    pos = next;
    if (line.startsWith('---')) {
      const parts = line.split(' ');
      if (parts.length !== 2 || parts[0] !== '---') throw badHeader('malformed age header mac line');
      const mac = b64decode(parts[1] as string);
      if (mac === undefined || mac.length !== 32) throw badHeader('malformed age header mac line');
      if (stanzas.length === 0) throw badHeader('age header has no recipients');
      return { stanzas, macInput: file.subarray(0, lineStart + 3), mac, payloadOffset: pos };
    }
    if (!line.startsWith('->')) throw badHeader('malformed age header line');
    // Each X25519 stanza costs an X25519 operation per identity (~1 ms here): a file of
    // millions (256 MB) would spin for most of an hour. Real files have a few.
    if (stanzas.length === MAX_STANZAS) throw badHeader(`age header has more than ${MAX_STANZAS} recipient stanzas`);
    const parts = line.split(' ');
    if (parts[0] !== '->' || parts.length < 2) throw badHeader('malformed age recipient stanza');
    const args = parts.slice(1);
    if (!args.every(isVchars)) throw badHeader('malformed age recipient stanza');

    // Body: full 64-column lines, then one final line shorter than 64 (possibly empty).
    const bodyParts: Uint8Array[] = [];
    for (;;) {
      const { line: bodyLine, next: afterBody } = readLine(file, pos);
      pos = afterBody;
      if (bodyLine.length > COLUMNS) throw badHeader('age stanza body line is too long');
      if (bodyParts.length === MAX_BODY_LINES) throw badHeader('age stanza body is too long');
      const decoded = b64decode(bodyLine);
      if (decoded === undefined) throw badHeader('age stanza body is not canonical base64');
      bodyParts.push(decoded);
      if (bodyLine.length < COLUMNS) break;
    }
    stanzas.push({ args, body: concat(...bodyParts) });
  }
}

/** Strict PEM (RFC 7468 §3) with label "AGE ENCRYPTED FILE"; whitespace allowed only around it. */
function dearmor(file: Uint8Array): Uint8Array | undefined {
  let start = 0;
  const isWs = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
  while (start < file.length && isWs(file[start])) start++;
  const begin = enc.encode(ARMOR_BEGIN);
  if (file.length - start < begin.length || !begin.every((b, i) => file[start + i] === b)) return undefined;

  let end = file.length;
  while (end > start && isWs(file[end - 1])) end--;
  const malformed = (): JaneeError => badHeader('malformed age armor');
  const text = Buffer.from(file.buffer, file.byteOffset + start, end - start).toString('latin1');
  if (/[^\x20-\x7e\r\n]/.test(text)) throw malformed();
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length < 3 || lines[0] !== ARMOR_BEGIN || lines[lines.length - 1] !== ARMOR_END) throw malformed();
  const body = lines.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const l = body[i] as string;
    const last = i === body.length - 1;
    if (last ? l.length === 0 || l.length > COLUMNS : l.length !== COLUMNS) throw malformed();
  }
  const joined = body.join('');
  if (joined.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(joined)) throw malformed();
  const buf = Buffer.from(joined, 'base64');
  if (buf.toString('base64') !== joined) throw malformed();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

interface ScryptParams {
  salt: Uint8Array;
  logN: number;
  body: Uint8Array;
}

function scryptParams(stanzas: Stanza[], maxLogN: number): ScryptParams {
  const scrypt = stanzas.filter((s) => s.args[0] === 'scrypt');
  if (scrypt.length === 0) {
    throw new JaneeError(
      'AGE_UNSUPPORTED',
      'age file is not passphrase-encrypted',
      'only files made with `age -p` (scrypt recipient) are supported',
    );
  }
  if (stanzas.length !== 1) {
    throw new JaneeError('AGE_UNSUPPORTED', 'age scrypt recipient must be the only recipient');
  }
  const stanza = scrypt[0] as Stanza;
  if (stanza.args.length !== 3) throw badHeader('malformed age scrypt stanza');
  const salt = b64decode(stanza.args[1] as string);
  if (salt === undefined || salt.length !== SALT_SIZE) throw badHeader('malformed age scrypt salt');
  const logNText = stanza.args[2] as string;
  if (!/^[1-9][0-9]*$/.test(logNText)) throw badHeader('malformed age scrypt work factor');
  const logN = logNText.length > 2 ? Infinity : Number(logNText);
  if (logN > maxLogN) {
    throw new JaneeError(
      'AGE_WORK_FACTOR',
      'age scrypt work factor is too large',
      `the file asks for 2^${logNText.length > 2 ? 'huge' : logNText} scrypt work; the limit is 2^${maxLogN}`,
    );
  }
  // Checked before any scrypt work: mitigates partitioning oracles (and long file keys).
  if (stanza.body.length !== FILE_KEY_SIZE + TAG_SIZE) throw badHeader('malformed age scrypt stanza body');
  return { salt, logN, body: stanza.body };
}

function decryptPayload(payload: Uint8Array, fileKey: Uint8Array): Uint8Array {
  if (payload.length < NONCE_SIZE) throw badPayload('age payload is truncated');
  const nonce = payload.subarray(0, NONCE_SIZE);
  const ct = payload.subarray(NONCE_SIZE);
  if (ct.length === 0) throw badPayload('age payload is truncated');
  const chunks = Math.ceil(ct.length / ENC_CHUNK_SIZE);
  const lastLen = ct.length - (chunks - 1) * ENC_CHUNK_SIZE;
  if (lastLen < TAG_SIZE) throw badPayload('age payload is truncated');

  using payloadKey = secret(hkdf(sha256, fileKey, nonce, enc.encode('payload'), 32));
  // Wiped if any chunk fails: no plaintext is released unless all of it authenticates.
  using out = secret(new Uint8Array(ct.length - chunks * TAG_SIZE));
  let off = 0;
  for (let i = 0; i < chunks; i++) {
    const last = i === chunks - 1;
    const sealed = ct.subarray(i * ENC_CHUNK_SIZE, last ? ct.length : (i + 1) * ENC_CHUNK_SIZE);
    using plain = secret(openChunk(payloadKey.bytes, i, last, sealed));
    if (last && plain.bytes.length === 0 && i > 0) throw badPayload('age payload has an empty last chunk');
    out.bytes.set(plain.bytes, off);
    off += plain.bytes.length;
  }
  return out.take(); // the caller owns the plaintext now
}

function openChunk(payloadKey: Uint8Array, counter: number, last: boolean, sealed: Uint8Array): Uint8Array {
  try {
    return chacha20poly1305(payloadKey, streamNonce(counter, last)).decrypt(sealed);
  } catch {
    // Also what truncation at a chunk boundary and trailing data look like.
    throw badPayload('age payload failed to authenticate');
  }
}

export async function decryptAge(file: Uint8Array, from: AgeFrom, opts: AgeDecryptOptions = {}): Promise<Uint8Array> {
  const maxLogN = opts.maxLogN ?? DEFAULT_MAX_LOG_N;
  checkLogN(maxLogN, 'maximum scrypt work factor');

  const binary = dearmor(file) ?? file;
  const header = parseHeader(binary);
  let key: Uint8Array;
  if (from instanceof Uint8Array) {
    const { salt, logN, body } = scryptParams(header.stanzas, maxLogN);
    key = await unwrapAgeFileKey(from, salt, logN, body);
  } else {
    key = unwrapX25519(header.stanzas, from.identities);
  }
  using fileKey = secret(key);
  const mac = headerMac(fileKey.bytes, header.macInput);
  if (!ctEqual(mac, header.mac)) {
    throw new JaneeError('AGE_BAD_MAC', 'age header mac does not match', 'the file header was modified after encryption');
  }
  return decryptPayload(binary.subarray(header.payloadOffset), fileKey.bytes);
}

/**
 * The file key from the first X25519 stanza one of `identities` opens (age's rules: an
 * X25519 stanza has exactly one argument, a 32-byte share, and a 32-byte body; a scrypt
 * stanza must be alone, so it is refused here). Other stanza types are skipped, as age does.
 */
function unwrapX25519(stanzas: Stanza[], identities: Uint8Array[]): Uint8Array {
  if (stanzas.some((s) => s.args[0] === 'scrypt')) {
    throw new JaneeError(
      'AGE_UNSUPPORTED',
      'age file is passphrase-encrypted, not for an identity',
      'give its passphrase instead of an identity',
    );
  }
  const x = stanzas.filter((s) => s.args[0] === 'X25519');
  for (const s of x) {
    const share = s.args.length === 2 ? b64decode(s.args[1] as string) : undefined;
    if (share === undefined || share.length !== 32 || s.body.length !== FILE_KEY_SIZE + TAG_SIZE) {
      throw badHeader('malformed age X25519 stanza');
    }
  }
  for (const id of identities) {
    for (const s of x) {
      const key = x25519Unwrap(id, b64decode(s.args[1] as string) as Uint8Array, s.body, AGE_X25519_LABEL);
      if (key !== undefined) return key;
    }
  }
  throw new JaneeError(
    'AGE_NO_IDENTITY',
    'no identity given opens this age file',
    'use the identity whose public key the file was encrypted to (age -r)',
  );
}

/** The file key from the scrypt stanza; the caller wipes it. The wrap key is wiped here. */
async function unwrapAgeFileKey(passphrase: Uint8Array, salt: Uint8Array, logN: number, body: Uint8Array): Promise<Uint8Array> {
  using wrapKey = secret(await deriveWrapKey(passphrase, salt, logN));
  try {
    return chacha20poly1305(wrapKey.bytes, ZERO_NONCE).decrypt(body);
  } catch {
    throw new JaneeError('AGE_BAD_PASSPHRASE', 'wrong passphrase for age file');
  }
}
