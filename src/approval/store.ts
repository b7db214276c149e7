/**
 * Approvals on disk: one small file per record, `<id>.<kind>` (record.ts), in
 * `~/.local/state/janee/approvals/<id of the vault path>/` (0700 directory, 0600
 * files, written atomically). Per machine, never in JANEE_HOME (a dotfiles repo
 * must not carry a decision to another machine). The fallback state directory is
 * used, not $XDG_STATE_HOME: an MCP client may start serve without the shell's
 * XDG_STATE_HOME, and `janee approve` (run from that shell) must write where serve
 * looks.
 *
 * Nothing here trusts a file: every decision is decoded with the MAC key. A
 * one-time approval is consumed by renaming it to a name of our own first (the
 * claim: of two processes racing, exactly one rename succeeds), then reading it.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { readAtMost, TooLargeError } from '../util/bounded.js';
import { atomicWrite, ensureDir } from '../util/fsutil.js';
import { stateDirs } from '../util/state.js';
import { decodeRecord, encodeRecord, ID_RE, RECORD_KINDS, type ApprovalRecord, type RecordKind } from './record.js';

export function approvalsDir(vaultFile: string, env: NodeJS.ProcessEnv = process.env): string {
  const id = createHash('sha256').update(path.resolve(vaultFile)).digest('hex').slice(0, 16);
  return path.join(stateDirs(env).at(-1) as string, 'approvals', id);
}

export type ReadResult<K extends RecordKind> =
  { state: 'ok'; record: ApprovalRecord<K> } | { state: 'missing' } | { state: 'bad'; why: string };

const fileOf = (dir: string, id: string, kind: RecordKind) => path.join(dir, `${id}.${kind}`);

export async function writeRecord(dir: string, key: Uint8Array, rec: ApprovalRecord): Promise<void> {
  await ensureDir(dir);
  await atomicWrite(fileOf(dir, rec.id, rec.kind), encodeRecord(key, rec), { backup: false });
}

function check<K extends RecordKind>(text: string, id: string, kind: K, key: Uint8Array | undefined): ReadResult<K> {
  const d = decodeRecord(text, key);
  if (!d.ok) return { state: 'bad', why: d.why };
  // The name is not covered by the MAC, the content is: they must agree.
  if (d.record.kind !== kind || d.record.id !== id) return { state: 'bad', why: 'record does not match its file name' };
  return { state: 'ok', record: d.record as unknown as ApprovalRecord<K> };
}

/** A record is one short MACed JSON object; this is far above any. */
const MAX_RECORD_BYTES = 1024 * 1024;

async function readText(file: string): Promise<string | undefined> {
  try {
    // Regular files only, bounded: a FIFO or a link to /dev/zero among the records would hang
    // `janee approvals` and every approval check of serve.
    return (await readAtMost(file, MAX_RECORD_BYTES, { regularOnly: true })).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Not a record: listed as damaged like any other text that does not decode.
    if (e instanceof TooLargeError || (e as NodeJS.ErrnoException).code === 'ENOTFILE') return '';
    throw e;
  }
}

export async function readRecord<K extends RecordKind>(
  dir: string,
  id: string,
  kind: K,
  key: Uint8Array | undefined,
): Promise<ReadResult<K>> {
  if (!ID_RE.test(id)) return { state: 'missing' };
  const text = await readText(fileOf(dir, id, kind));
  return text === undefined ? { state: 'missing' } : check(text, id, kind, key);
}

/**
 * Takes `<id>.<kind>` for this process alone (rename), then reads and removes it.
 * 'missing': absent, or another process claimed it first.
 */
export async function claimRecord<K extends RecordKind>(dir: string, id: string, kind: K, key: Uint8Array): Promise<ReadResult<K>> {
  if (!ID_RE.test(id)) return { state: 'missing' };
  const claimed = path.join(dir, `.${id}.${kind}.claim-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fs.rename(fileOf(dir, id, kind), claimed);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    throw e;
  }
  try {
    const text = await readText(claimed);
    return text === undefined ? { state: 'missing' } : check(text, id, kind, key);
  } finally {
    await fs.rm(claimed, { force: true });
  }
}

export async function removeRecords(dir: string, id: string, kinds: readonly RecordKind[] = RECORD_KINDS): Promise<boolean> {
  if (!ID_RE.test(id)) return false;
  let any = false;
  for (const kind of kinds) {
    try {
      await fs.unlink(fileOf(dir, id, kind));
      any = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return any;
}

export interface Listed {
  id: string;
  kind: RecordKind;
  result: ReadResult<RecordKind>;
}

/** Every record file of `kinds` in the directory (decoded with `key` if given). */
export async function listRecords(
  dir: string,
  key: Uint8Array | undefined,
  kinds: readonly RecordKind[] = RECORD_KINDS,
): Promise<Listed[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: Listed[] = [];
  for (const name of names.sort()) {
    const m = /^([a-z0-9]{10})\.([a-z]+)$/.exec(name);
    if (!m || !(kinds as readonly string[]).includes(m[2] as string)) continue;
    const id = m[1] as string;
    const kind = m[2] as RecordKind;
    const text = await readText(path.join(dir, name));
    if (text !== undefined) out.push({ id, kind, result: check(text, id, kind, key) });
  }
  return out;
}
