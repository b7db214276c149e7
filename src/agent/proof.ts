/**
 * Proving that the agent holds the file key, and handing it a new one, without
 * the key ever crossing the socket.
 *
 * A same-uid process can move the agent's socket aside and listen in its place
 * (the 0700 directory does not stop the same user). So the CLI trusts an agent on
 * the socket only after it answers a fresh challenge with a MAC under a key
 * derived from the file key:
 *
 *   proofKey = HKDF-SHA256(fileKey, salt = "", info = "janee.dev/v1/agent-proof", 32)
 *   mac      = HMAC-SHA256(proofKey, "janee.dev/v1/agent-proof" 0x00 nonce 0x00
 *                                   vault 0x00 socket 0x00 pid)
 *
 * nonce: 32 fresh random bytes from the CLI; vault: the real path of the vault
 * file; socket: the socket path the CLI connected to; pid: the agent's pid in
 * decimal. The MAC reveals nothing about the key, binds the answer to this vault,
 * path and process, and cannot be replayed (fresh nonce).
 *
 * `prove` also returns a fresh 32-byte challenge from the agent, good for one
 * `unlock` (timer reset) on that connection, which must carry
 *
 *   renew = HMAC-SHA256(proofKey, "janee.dev/v1/agent-renew" 0x00 challenge 0x00 ttlMs 0x00 maxTtlMs)
 *
 * so only a holder of the key can extend an agent's life (--max-ttl holds even
 * against other processes of the same user).
 *
 * `rekey` seals the new key under the old one, so only a holder of the old key
 * can read it (a relay in front of the agent forwards bytes it cannot open):
 *
 *   wrapKey = HKDF-SHA256(oldKey, salt = nonce, info = "janee.dev/v1/agent-rekey", 32)
 *   sealed  = AES-256-GCM(wrapKey, iv (12 random bytes), newKey, aad = "janee.dev/v1/agent-rekey")
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { JaneeError } from '../errors.js';
import { secret } from '../util/secret.js';
import type { SealedKey } from './protocol.js';

const PROOF_INFO = 'janee.dev/v1/agent-proof';
const REKEY_INFO = 'janee.dev/v1/agent-rekey';
const RENEW_INFO = 'janee.dev/v1/agent-renew';
export const NONCE_BYTES = 32;

interface ProofContext {
  vault: string;
  socket: string;
  pid: number;
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

function proofKey(fileKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', fileKey, new Uint8Array(0), PROOF_INFO, 32));
}

export function proofMac(fileKey: Uint8Array, nonce: Uint8Array, ctx: ProofContext): Buffer {
  using k = secret(proofKey(fileKey));
  const h = createHmac('sha256', k.bytes);
  h.update(`${PROOF_INFO}\0`);
  h.update(nonce);
  h.update(`\0${ctx.vault}\0${ctx.socket}\0${ctx.pid}`);
  return h.digest();
}

export function renewMac(fileKey: Uint8Array, challenge: Uint8Array, ttlMs: number, maxTtlMs: number): Buffer {
  using k = secret(proofKey(fileKey));
  const h = createHmac('sha256', k.bytes);
  h.update(`${RENEW_INFO}\0`);
  h.update(challenge);
  h.update(`\0${ttlMs}\0${maxTtlMs}`);
  return h.digest();
}

export function checkRenew(fileKey: Uint8Array, challenge: Uint8Array, ttlMs: number, maxTtlMs: number, macB64: unknown): boolean {
  if (typeof macB64 !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(macB64)) return false;
  return timingSafeEqual(renewMac(fileKey, challenge, ttlMs, maxTtlMs), Buffer.from(macB64, 'base64'));
}

export function checkProof(fileKey: Uint8Array, nonce: Uint8Array, ctx: ProofContext, macB64: unknown): boolean {
  if (typeof macB64 !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(macB64)) return false;
  const want = proofMac(fileKey, nonce, ctx);
  return timingSafeEqual(want, Buffer.from(macB64, 'base64'));
}

type Sealed = SealedKey;

function wrapKey(oldKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', oldKey, nonce, REKEY_INFO, 32));
}

export function sealKey(oldKey: Uint8Array, newKey: Uint8Array): Sealed {
  const nonce = newNonce();
  const iv = randomBytes(12);
  using k = secret(wrapKey(oldKey, nonce));
  const c = createCipheriv('aes-256-gcm', k.bytes, iv);
  c.setAAD(Buffer.from(REKEY_INFO));
  const ct = Buffer.concat([c.update(newKey), c.final(), c.getAuthTag()]);
  return { nonce: nonce.toString('base64'), iv: iv.toString('base64'), sealed: ct.toString('base64') };
}

/** The new key sealed by sealKey; AGENT_BAD_REQUEST when it is malformed or not sealed under `oldKey`. */
export function openSealedKey(oldKey: Uint8Array, s: { nonce?: unknown; iv?: unknown; sealed?: unknown }): Uint8Array {
  const bad = () => new JaneeError('AGENT_BAD_REQUEST', 'rekey needs the new key sealed under the current one', 'use `janee rekey`');
  const b64 = (x: unknown) => (typeof x === 'string' && x.length <= 200 ? Buffer.from(x, 'base64') : undefined);
  const nonce = b64(s.nonce);
  const iv = b64(s.iv);
  const ct = b64(s.sealed);
  if (!nonce || nonce.length !== NONCE_BYTES || !iv || iv.length !== 12 || !ct || ct.length !== 48) throw bad();
  using k = secret(wrapKey(oldKey, nonce));
  try {
    const d = createDecipheriv('aes-256-gcm', k.bytes, iv);
    d.setAAD(Buffer.from(REKEY_INFO));
    d.setAuthTag(ct.subarray(32));
    // Buffer.concat may take its bytes from Node's shared pool: copy them out, wipe the pooled ones.
    using out = secret(Buffer.concat([d.update(ct.subarray(0, 32)), d.final()]));
    return new Uint8Array(out.bytes);
  } catch {
    throw new JaneeError(
      'AGENT_KEY_MISMATCH',
      'the new key is not sealed under the key this agent holds',
      'run `janee lock && janee unlock` with the new passphrase',
    );
  }
}
