/**
 * age's X25519 recipient type (C2SP age.md, "X25519 recipient stanza"), shared by the
 * vault header (v2, janee's own label and a 32-byte file key) and the age codec (age's
 * label, 16-byte file key). Pure apart from the CSPRNG.
 *
 *     ephemeral e (32 random bytes), share = X25519(e, basepoint)
 *     shared   = X25519(e, recipient)              — refused if all zero (low-order point)
 *     wrap key = HKDF-SHA-256(ikm = shared, salt = share ‖ recipient, info = label)
 *     body     = ChaCha20-Poly1305(wrap key, nonce = 12 zero bytes, file key)
 *
 * X25519 itself is node:crypto's (OpenSSL), so no new dependency: raw keys go in and
 * out through fixed PKCS#8 / SPKI DER prefixes. Keys are written as age writes them:
 * `age1…` (bech32, hrp "age") and `AGE-SECRET-KEY-1…` (bech32, upper case).
 */
import { createPrivateKey, createPublicKey, diffieHellman, randomBytes, type KeyObject } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { JaneeError } from '../errors.js';
import { secret } from '../util/secret.js';
import { bech32Decode, bech32Encode } from './bech32.js';
import { concat } from './bytes.js';

export const AGE_X25519_LABEL = 'age-encryption.org/v1/X25519';
export const KEY_LEN = 32;
const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'age-secret-key-';
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const ZERO_NONCE = new Uint8Array(12);

// ---------------------------------------------------------------------------
// key encodings

/** The 32-byte public key of an `age1…` string, or undefined if it is not one (strict bech32). */
export function parseRecipient(text: string): Uint8Array | undefined {
  const d = bech32Decode(text);
  if (d === undefined || d.hrp !== RECIPIENT_HRP || d.data.length !== KEY_LEN || text !== text.toLowerCase()) return undefined;
  return d.data;
}

export function encodeRecipient(publicKey: Uint8Array): string {
  return bech32Encode(RECIPIENT_HRP, publicKey);
}

/** The 32-byte secret key of an `AGE-SECRET-KEY-1…` string (upper case, as age writes it), or undefined. */
export function parseIdentity(text: string): Uint8Array | undefined {
  const d = bech32Decode(text);
  if (d === undefined || d.hrp !== IDENTITY_HRP || d.data.length !== KEY_LEN || text !== text.toUpperCase()) {
    d?.data.fill(0);
    return undefined;
  }
  return d.data;
}

export function encodeIdentity(secretKey: Uint8Array): string {
  return bech32Encode(IDENTITY_HRP, secretKey).toUpperCase();
}

// ---------------------------------------------------------------------------
// X25519 through node:crypto

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  // The DER copy of the key is wiped once OpenSSL has its own (which cannot be wiped from here).
  const der = Buffer.alloc(PKCS8_PREFIX.length + KEY_LEN);
  PKCS8_PREFIX.copy(der);
  der.set(secretKey, PKCS8_PREFIX.length);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

/** The public key (X25519 of the basepoint) of a 32-byte secret key. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== KEY_LEN) throw new RangeError('publicKeyOf: 32-byte key expected');
  const spki = createPublicKey(privateKeyObject(secretKey)).export({ format: 'der', type: 'spki' });
  return Uint8Array.from(spki.subarray(spki.length - KEY_LEN));
}

/** X25519(secret, point); undefined for a low-order point (the all-zero result age refuses). */
function sharedSecret(secretKey: Uint8Array, point: Uint8Array): Uint8Array | undefined {
  let out: Uint8Array;
  try {
    // OpenSSL itself fails the derivation when the result is all zero.
    const b = diffieHellman({ privateKey: privateKeyObject(secretKey), publicKey: publicKeyObject(point) });
    out = Uint8Array.from(b);
    b.fill(0);
  } catch {
    return undefined;
  }
  if (out.every((x) => x === 0)) return undefined;
  return out;
}

/** A fresh 32-byte secret key. */
export function generateSecretKey(): Uint8Array {
  return Uint8Array.from(randomBytes(KEY_LEN));
}

// ---------------------------------------------------------------------------
// wrap / unwrap

function wrapKey(shared: Uint8Array, share: Uint8Array, recipient: Uint8Array, label: string): Uint8Array {
  return hkdf(sha256, shared, concat(share, recipient), new TextEncoder().encode(label), 32);
}

/**
 * Wraps `fileKey` for `recipient` (32-byte public key). `opts.ephemeral` fixes the
 * ephemeral secret (test vectors only). Returns the share and the body (file key + 16).
 */
export function x25519Wrap(
  fileKey: Uint8Array,
  recipient: Uint8Array,
  label: string,
  opts: { ephemeral?: Uint8Array } = {},
): { share: Uint8Array; body: Uint8Array } {
  using eph = secret(opts.ephemeral ? Uint8Array.from(opts.ephemeral) : generateSecretKey());
  const share = publicKeyOf(eph.bytes);
  const shared = sharedSecret(eph.bytes, recipient);
  if (shared === undefined) {
    throw new JaneeError('RECIPIENT_INVALID', 'the recipient is not a usable X25519 public key (low-order point)', 'check the age1… key');
  }
  using s = secret(shared);
  using key = secret(wrapKey(s.bytes, share, recipient, label));
  return { share, body: chacha20poly1305(key.bytes, ZERO_NONCE).encrypt(fileKey) };
}

/**
 * The file key from a stanza, or undefined if this identity does not open it (wrong
 * key, a tampered stanza, or a low-order share). The caller wipes the result.
 */
export function x25519Unwrap(identity: Uint8Array, share: Uint8Array, body: Uint8Array, label: string): Uint8Array | undefined {
  const shared = sharedSecret(identity, share);
  if (shared === undefined) return undefined;
  using s = secret(shared);
  using key = secret(wrapKey(s.bytes, share, publicKeyOf(identity), label));
  try {
    return chacha20poly1305(key.bytes, ZERO_NONCE).decrypt(body);
  } catch {
    return undefined;
  }
}
