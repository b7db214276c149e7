/**
 * Signed audit checkpoints: an Ed25519 key signs (seq, hash) of the chain head, so
 * a log that was rewritten and re-chained no longer matches its signatures.
 *
 * The key. Its 32-byte seed is HKDF-SHA256(vault file key, info
 * "janee.dev/v1/audit-signing"): the private half exists only while the vault is
 * open (agent or in-process serve), is the same for every process that has that
 * vault open (so several serves and the agent sign one chain), and the vault's
 * format is untouched. `janee passwd`/rekey changes the file key and so the key;
 * both public halves stay listed.
 *
 * Public halves, in plaintext (verify needs no passphrase):
 * - `<audit>/signing-keys`: one JSON line per key `{"id","publicKey","added"}`;
 * - a pin outside JANEE_HOME, `audit-keys-<id of the audit dir>` in each state
 *   directory (src/util/state.ts), same format. Someone who rewrites the log
 *   and swaps `signing-keys` for a key of their own still fails verify on this
 *   machine, unless they also edit the pin (same uid: possible; see SECURITY.md).
 * - a mark beside the pin, `audit-signed-<id of the audit dir>`: `{"seq","hash"}`
 *   of the newest checkpoint written on this machine (max only). Without it, the
 *   log cut back to an earlier checkpoint — newest entries and the checkpoints
 *   that signed them deleted, `head` fixed — verified clean: a chain and its
 *   signatures cannot show what came after them.
 *
 * Records (one JSON line each):
 * - checkpoint, in `<audit>/checkpoints`: `{"seq","hash","ts","key","sig"}`;
 * - anchor, `<audit>/anchor.json` (retention): `{"seq","hash","file","ts"[,"key","sig"]}`.
 * The signed bytes are `janee.dev/v1/audit-<kind>\n<seq>\n<hash>\n<ts>\n<key id>`
 * (kind `checkpoint` or `anchor`: a checkpoint cannot be replayed as an anchor).
 */
import { createHash, createPrivateKey, createPublicKey, hkdfSync, sign, verify, type KeyObject } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { atomicWrite, ensureDir, FILE_MODE } from '../util/fsutil.js';
import { readAtMost } from '../util/bounded.js';
import { secret } from '../util/secret.js';
import { stateDirs } from '../util/state.js';

export const CHECKPOINT_FILE = 'checkpoints';
export const KEYS_FILE = 'signing-keys';
/** A key list or a mark: short JSON lines (a key is added only when the signing key changes). */
const MAX_STATE_FILE = 1024 * 1024;
export const ANCHOR_FILE = 'anchor.json';
const HKDF_INFO = 'janee.dev/v1/audit-signing';
/** PKCS#8 DER prefix for an Ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface AuditSigner {
  /** First 16 hex of sha256(raw public key). */
  readonly id: string;
  /** Raw 32-byte public key, base64url. */
  readonly publicKey: string;
  sign(data: Uint8Array): Uint8Array;
  /** False once the vault it came from is locked (no new periodic checkpoints). */
  active(): boolean;
}

export function keyIdOf(publicKeyB64u: string): string {
  return createHash('sha256').update(Buffer.from(publicKeyB64u, 'base64url')).digest('hex').slice(0, 16);
}

/** The signer for a vault file key. The key bytes are not kept (only the derived KeyObject). */
export function signerFromFileKey(fileKey: Uint8Array, active: () => boolean = () => true): AuditSigner {
  const priv = signingKey(fileKey);
  const publicKey = createPublicKey(priv).export({ format: 'jwk' }).x as string;
  return { id: keyIdOf(publicKey), publicKey, sign: (data) => sign(null, data, priv), active };
}

/** The Ed25519 private key derived from the file key; the seed and its DER encoding are wiped. */
function signingKey(fileKey: Uint8Array): KeyObject {
  using seed = secret(new Uint8Array(hkdfSync('sha256', fileKey, new Uint8Array(0), HKDF_INFO, 32)));
  using der = secret(Buffer.concat([PKCS8_ED25519, seed.bytes]));
  return createPrivateKey({ key: der.bytes as Buffer, format: 'der', type: 'pkcs8' });
}

export type SignedKind = 'checkpoint' | 'anchor';

function signedBytes(kind: SignedKind, seq: number, hash: string, ts: string, keyId: string): Buffer {
  return Buffer.from(`janee.dev/v1/audit-${kind}\n${seq}\n${hash}\n${ts}\n${keyId}`, 'utf8');
}

export interface Checkpoint {
  seq: number;
  hash: string;
  ts: string;
  key: string;
  sig: string;
}

export function makeCheckpoint(kind: SignedKind, signer: AuditSigner, seq: number, hash: string, ts: string): Checkpoint {
  const sig = Buffer.from(signer.sign(signedBytes(kind, seq, hash, ts, signer.id))).toString('base64url');
  return { seq, hash, ts, key: signer.id, sig };
}

export function checkSignature(kind: SignedKind, c: Checkpoint, publicKeyB64u: string): boolean {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKeyB64u }, format: 'jwk' });
    return verify(null, signedBytes(kind, c.seq, c.hash, c.ts, c.key), key, Buffer.from(c.sig, 'base64url'));
  } catch {
    return false;
  }
}

const HEX64 = /^[0-9a-f]{64}$/;
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function parseCheckpoint(line: string): Checkpoint | null {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof o !== 'object' || o === null) return null;
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 1) return null;
  if (typeof o.hash !== 'string' || !HEX64.test(o.hash)) return null;
  if (typeof o.ts !== 'string' || !TS_RE.test(o.ts)) return null;
  if (typeof o.key !== 'string' || !/^[0-9a-f]{16}$/.test(o.key) || typeof o.sig !== 'string') return null;
  return { seq: o.seq as number, hash: o.hash, ts: o.ts, key: o.key, sig: o.sig };
}

// ---------------------------------------------------------------------------
// Public key files

/** `<prefix>-<id of the audit dir>` in each state directory (src/util/state.ts): written to all, read from all. */
function stateFiles(auditDir: string, prefix: string, env: NodeJS.ProcessEnv): string[] {
  const id = createHash('sha256').update(path.resolve(auditDir)).digest('hex').slice(0, 16);
  return stateDirs(env).map((dir) => path.join(dir, `${prefix}-${id}`));
}

/** The pin files for an audit dir (one file per audit dir, so several homes do not mix). */
export function pinFiles(auditDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return stateFiles(auditDir, 'audit-keys', env);
}

/** The files remembering the newest checkpoint written on this machine for an audit dir. */
export function signedMarkFiles(auditDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  return stateFiles(auditDir, 'audit-signed', env);
}

export interface SignedMark {
  seq: number;
  hash: string;
}

async function readMark(file: string): Promise<SignedMark | null> {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse((await readAtMost(file, MAX_STATE_FILE, { regularOnly: true })).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file} is not a checkpoint mark (${(e as Error).message})`, { cause: e });
  }
  if (
    typeof o !== 'object' ||
    o === null ||
    !Number.isSafeInteger(o.seq) ||
    (o.seq as number) < 1 ||
    typeof o.hash !== 'string' ||
    !HEX64.test(o.hash)
  ) {
    throw new Error(`${file} is not a checkpoint mark`);
  }
  return { seq: o.seq as number, hash: o.hash };
}

/** The newest checkpoint this machine wrote for the audit dir (highest over the state dirs); null: none. Throws on a damaged mark. */
export async function readSignedMark(auditDir: string, env: NodeJS.ProcessEnv = process.env): Promise<SignedMark | null> {
  let best: SignedMark | null = null;
  for (const file of signedMarkFiles(auditDir, env)) {
    const m = await readMark(file);
    if (m && (!best || m.seq > best.seq)) best = m;
  }
  return best;
}

/**
 * Raises the mark to a checkpoint just written (under the audit lock, after the
 * checkpoint is synced, so a mark never names more than the files hold). Never
 * lowers it: a log cut back and written on from there must not reset it.
 */
export async function noteSigned(auditDir: string, mark: SignedMark): Promise<void> {
  for (const file of signedMarkFiles(auditDir)) {
    const have = await readMark(file).catch(() => null);
    if (have && have.seq >= mark.seq) continue;
    await ensureDir(path.dirname(file));
    await atomicWrite(file, `${JSON.stringify({ seq: mark.seq, hash: mark.hash })}\n`, { backup: false });
  }
}

/** The keys pinned for an audit dir: the union over its pin files; null when none exists. */
export async function readPinnedKeys(auditDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Map<string, string> | null> {
  let out: Map<string, string> | null = null;
  for (const file of pinFiles(auditDir, env)) {
    const keys = await readKeyFile(file).catch(() => null);
    if (keys) out = new Map([...(out ?? []), ...keys]);
  }
  return out;
}

/** id → public key, from a key list file. null: the file does not exist. */
export async function readKeyFile(file: string): Promise<Map<string, string> | null> {
  let text: string;
  try {
    // Bounded, regular files only: a key list replaced by /dev/zero or a FIFO fails verify, never hangs it.
    text = (await readAtMost(file, MAX_STATE_FILE, { regularOnly: true })).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (typeof o.publicKey === 'string' && o.id === keyIdOf(o.publicKey)) out.set(o.id, o.publicKey);
    } catch {
      // not a key line: ignored (verify only trusts keys whose id matches)
    }
  }
  return out;
}

async function appendKey(file: string, signer: AuditSigner, ts: string): Promise<void> {
  const have = await readKeyFile(file);
  if (have?.has(signer.id)) return;
  await ensureDir(path.dirname(file));
  const fh = await fs.open(file, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, FILE_MODE);
  try {
    await fh.write(`${JSON.stringify({ id: signer.id, publicKey: signer.publicKey, added: ts })}\n`);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/**
 * Records the signer's public key beside the log and in the pin (once per key).
 * Called under the audit lock before the key's first checkpoint.
 */
export async function publishKey(auditDir: string, signer: AuditSigner, ts: string): Promise<void> {
  await appendKey(path.join(auditDir, KEYS_FILE), signer, ts);
  for (const pin of pinFiles(auditDir)) await appendKey(pin, signer, ts);
}
