/**
 * The highest vault generation seen on this machine, per vault, kept OUTSIDE the
 * synced folder so an older copy of the vault put back (from git history, a backup,
 * a push to the dotfiles repo) is refused instead of silently undoing `janee remove`,
 * `janee bind --remove` or `janee rekey`.
 *
 * Where: `$XDG_STATE_HOME/janee` when XDG_STATE_HOME is an absolute path, and always
 * `~/.local/state/janee`. MCP clients start serve with a minimal environment (HOME,
 * PATH, USER…), so a serve may not see the XDG_STATE_HOME of the shell that ran
 * `janee remove`: records are therefore written to both places and read from both
 * (the highest wins). One file per vault: `vault-<id>.json` (id.ts), 0600 in a
 * 0700 directory, replaced atomically under a lock, only ever raised (max) except
 * by a deliberate `janee vault accept-older` or a new `janee init`.
 *
 * What is remembered: the generation, a key id (one-way: HMAC of a label under the
 * file key, so nothing usable is stored), when it was seen, and the key ids that
 * `janee rekey` replaced. A copy is refused when its generation is lower than the
 * one seen, or when it is encrypted under a replaced key (whatever its generation:
 * a copy from another branch with more saves would otherwise pass). An equal
 * generation is accepted: two machines saving from the same base reach the same
 * number legitimately, and `git checkout --theirs` after a conflict picks one.
 *
 * A record is only written after the vault opened (authenticated decryption), or
 * after janee wrote the vault itself: a generation nobody could authenticate is
 * never remembered. No record (or no directory) = first use. A record that does not
 * parse is refused loudly (VAULT_STATE_CORRUPT): janee writes it atomically, so a
 * damaged one means someone edited it, and silently starting afresh would forget
 * exactly what it is there to remember.
 */
import { createHmac } from 'node:crypto';
import * as path from 'node:path';
import { JaneeError } from '../errors.js';
import { atomicWrite, ensureDir, withLock } from '../util/fsutil.js';
import { stateDirs } from '../util/state.js';
import { readAtMost, TooLargeError } from '../util/bounded.js';
import { realVaultPath, vaultId } from './id.js';

const KEY_ID_INFO = 'janee.dev/v1/key-id';
/** Replaced key ids kept per vault (each `janee rekey` adds one). */
const MAX_RETIRED = 64;

export interface SeenRecord {
  /** Highest generation seen. */
  generation: number;
  /** Key id of the file key that generation was encrypted under. */
  key: string;
  /** When that generation was first seen here (ISO-8601 UTC). */
  at: string;
  /** Key ids replaced by `janee rekey` (a copy under one of them is an older copy). */
  retired: string[];
  /** The vault file (for people reading the state directory). */
  vault: string;
}

/** One-way id of a file key: HMAC-SHA-256(file key, label), 16 hex chars. */
export function keyIdOf(fileKey: Uint8Array): string {
  return createHmac('sha256', fileKey).update(KEY_ID_INFO).digest('hex').slice(0, 16);
}

function recordFiles(vaultFile: string, env: NodeJS.ProcessEnv): string[] {
  const name = `vault-${vaultId(vaultFile)}.json`;
  return stateDirs(env).map((d) => path.join(d, name));
}

/** An older copy: `onDisk` is the file's generation, `seen` the remembered one. */
export class VaultRollbackError extends JaneeError {
  constructor(
    readonly onDisk: number,
    readonly seen: number,
    vaultFile: string,
    message: string,
  ) {
    super(
      'VAULT_ROLLBACK',
      message,
      `get the newer copy back (e.g. \`git pull\`, or find it with \`git log -p -- ${vaultFile}\`); to go back to this copy on purpose, run \`janee vault accept-older\` (asks for the passphrase)`,
    );
  }
}

/** `2026-12-01 14:03 UTC` from a record's ISO time. */
export function when(at: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(at) ? `${at.slice(0, 10)} ${at.slice(11, 16)} UTC` : at;
}

/** Throws VaultRollbackError if a copy with this generation and key id is older than what was seen. */
export function checkAgainst(rec: SeenRecord | undefined, vaultFile: string, generation: number, key: string): void {
  if (!rec) return;
  if (generation < rec.generation) {
    throw new VaultRollbackError(
      generation,
      rec.generation,
      vaultFile,
      `${vaultFile} is generation ${generation}, but generation ${rec.generation} was seen here on ${when(rec.at)}: an older copy was put back`,
    );
  }
  if (key !== rec.key && rec.retired.includes(key)) {
    throw new VaultRollbackError(
      generation,
      rec.generation,
      vaultFile,
      `${vaultFile} (generation ${generation}) is encrypted under a file key that \`janee rekey\` replaced (generation ${rec.generation} was seen here on ${when(rec.at)}): an older copy was put back`,
    );
  }
}

function parseRecord(file: string, text: string): SeenRecord {
  const corrupt = (): JaneeError =>
    new JaneeError(
      'VAULT_STATE_CORRUPT',
      `${file} is damaged (janee remembers the newest vault generation there)`,
      `if you did not edit it, something else did: check, then remove it (rm ${file}); janee starts remembering afresh and cannot notice an older vault copy until then`,
    );
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw corrupt();
  }
  const r = v as Partial<SeenRecord> | null;
  if (
    !r ||
    typeof r !== 'object' ||
    !Number.isSafeInteger(r.generation) ||
    (r.generation as number) < 0 ||
    typeof r.key !== 'string' ||
    typeof r.at !== 'string' ||
    !Array.isArray(r.retired) ||
    !r.retired.every((k) => typeof k === 'string')
  ) {
    throw corrupt();
  }
  return {
    generation: r.generation as number,
    key: r.key,
    at: r.at,
    retired: r.retired,
    vault: typeof r.vault === 'string' ? r.vault : '',
  };
}

async function readOne(file: string): Promise<SeenRecord | undefined> {
  let text: string;
  try {
    // A record is a few hundred bytes; a FIFO or device here must not hang every vault open.
    text = (await readAtMost(file, 64 * 1024, { regularOnly: true })).toString('utf8');
  } catch (e) {
    const code = e instanceof TooLargeError ? 'too large' : (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new JaneeError(
      'VAULT_STATE_UNREADABLE',
      `cannot read ${file} (${code ?? 'error'})`,
      'check the permissions of the janee state directory',
    );
  }
  return parseRecord(file, text);
}

/** Two records → the one with the higher generation, knowing every retired key of both. */
function newer(a: SeenRecord | undefined, b: SeenRecord | undefined): SeenRecord | undefined {
  if (!a || !b) return a ?? b;
  const top = b.generation > a.generation ? b : a;
  return { ...top, retired: [...new Set([...a.retired, ...b.retired])].filter((k) => k !== top.key).slice(-MAX_RETIRED) };
}

async function readAll(vaultFile: string, env: NodeJS.ProcessEnv): Promise<{ file: string; rec: SeenRecord | undefined }[]> {
  const out: { file: string; rec: SeenRecord | undefined }[] = [];
  for (const file of recordFiles(vaultFile, env)) out.push({ file, rec: await readOne(file) });
  return out;
}

function highest(files: { rec: SeenRecord | undefined }[]): SeenRecord | undefined {
  return files.reduce<SeenRecord | undefined>((acc, r) => newer(acc, r.rec), undefined);
}

/** The remembered record for this vault (the highest over every state directory), or undefined. */
export async function readSeen(vaultFile: string, env: NodeJS.ProcessEnv = process.env): Promise<SeenRecord | undefined> {
  return highest(await readAll(vaultFile, env));
}

function record(vaultFile: string, generation: number, key: string, retired: string[]): SeenRecord {
  return {
    generation,
    key,
    at: new Date().toISOString(),
    retired: retired.filter((k) => k !== key).slice(-MAX_RETIRED),
    vault: realVaultPath(vaultFile),
  };
}

/** What to remember after (generation, key) opened or was written: max, and a new key retires the old one. */
function raised(best: SeenRecord | undefined, vaultFile: string, generation: number, key: string): SeenRecord {
  if (!best) return record(vaultFile, generation, key, []);
  if (generation <= best.generation) return best;
  return record(vaultFile, generation, key, best.key === key ? best.retired : [...best.retired, best.key]);
}

function covers(cur: SeenRecord | undefined, want: SeenRecord): boolean {
  return cur !== undefined && cur.generation >= want.generation && want.retired.every((k) => cur.retired.includes(k) || k === cur.key);
}

/** Writes `want` into every record file that does not already hold as much (max, under each file's lock). */
async function store(files: { file: string; rec: SeenRecord | undefined }[], want: SeenRecord, exact = false): Promise<void> {
  for (const { file, rec } of files) {
    if (!exact && covers(rec, want)) continue;
    await ensureDir(path.dirname(file));
    await withLock(file, async () => {
      const cur = await readOne(file); // another process may have raised it meanwhile
      const next = exact ? want : newer(cur, want);
      if (next && (exact || !covers(cur, next))) await atomicWrite(file, `${JSON.stringify(next)}\n`, { backup: false });
    });
  }
}

/** Remember (generation, key) if it is newer than what is remembered. For writes janee made itself. */
export async function noteSeen(vaultFile: string, generation: number, key: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const files = await readAll(vaultFile, env);
  const best = highest(files);
  await store(files, raised(best, vaultFile, generation, key));
}

/**
 * The check every opener makes once the vault has decrypted: refuse an older copy,
 * else remember a newer generation. Only reads, in the common case (nothing new).
 */
export async function guardGeneration(
  vaultFile: string,
  generation: number,
  key: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const files = await readAll(vaultFile, env);
  const best = highest(files);
  checkAgainst(best, vaultFile, generation, key);
  await store(files, raised(best, vaultFile, generation, key));
}

/**
 * Set the record to exactly (generation, key): a deliberate `janee vault accept-older`,
 * or a new vault made by `janee init` (`replaced`: the previous vault's key is retired).
 * Returns what was remembered before.
 */
export async function resetSeen(
  vaultFile: string,
  generation: number,
  key: string,
  opts: { replaced?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<SeenRecord | undefined> {
  const files = await readAll(vaultFile, opts.env ?? process.env);
  const before = highest(files);
  const retired = [...(before?.retired ?? [])];
  if (opts.replaced && before && before.key !== key) retired.push(before.key);
  await store(files, record(vaultFile, generation, key, retired), true);
  return before;
}
