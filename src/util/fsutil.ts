/**
 * File primitives every writer shares (vault, config, audit, kill switch):
 * atomic replacement with a `.bak`, and an exclusive lock file.
 *
 * Atomic write: temp file in the same directory → write → fsync → keep the old file
 * as `<file>.bak` (a hard link, so it is the old bytes exactly) → rename over the
 * target → fsync the directory. A crash or a failed write at any point leaves either
 * the old file or the new one, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc, linkSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { JaneeError } from '../errors.js';
import { readAtMost, TooLargeError } from './bounded.js';

const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

export async function ensureDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: DIR_MODE });
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, fsc.O_RDONLY);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

interface AtomicWriteOptions {
  mode?: number;
  /** Keep the replaced file as `<file>.bak` (default true). */
  backup?: boolean;
}

export async function atomicWrite(file: string, data: Uint8Array | string, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const h = await fs.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, opts.mode ?? FILE_MODE);
  try {
    try {
      await h.writeFile(data);
      await h.sync();
    } finally {
      await h.close();
    }
    if (opts.backup !== false) await backupOf(file);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw writeError(file, e);
  }
  await fsyncDir(dir);
}

/** `<file>.bak` becomes the current file's bytes (if it exists). */
async function backupOf(file: string): Promise<void> {
  const bak = `${file}.bak`;
  try {
    await fs.rm(bak, { force: true });
    await fs.link(file, bak);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // nothing to back up yet
    if (code === 'EPERM' || code === 'EXDEV' || code === 'ENOTSUP') {
      await fs.copyFile(file, bak);
      await fs.chmod(bak, FILE_MODE);
      return;
    }
    throw e;
  }
}

function writeError(file: string, e: unknown): JaneeError {
  if (e instanceof JaneeError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  return new JaneeError(
    'WRITE_FAILED',
    `could not write ${file} (${code}); the previous version is unchanged`,
    code === 'ENOSPC' || code === 'EFBIG' || code === 'EDQUOT'
      ? 'free some disk space and try again'
      : 'check the directory permissions and try again',
  );
}

// ---------------------------------------------------------------------------
// Lock files

const inProcess = new Map<string, Promise<unknown>>();

interface LockOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /**
   * Keep this process's candidate file after release, so the next acquisition is a
   * single link(2). For hot locks held by long-lived processes (the audit log);
   * the candidate is removed when the process exits.
   */
  keepCandidate?: boolean;
}

/**
 * Runs `fn` holding `<target>.lock` exclusively, across processes (O_EXCL lock file
 * holding our pid) and within this process (a promise chain, so concurrent callers
 * in one process queue instead of polling). A lock left by a dead process is broken.
 */
export async function withLock<T>(target: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const lockPath = `${target}.lock`;
  const prev = inProcess.get(lockPath) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const chained = prev.then(() => mine);
  inProcess.set(lockPath, chained);
  await prev.catch(() => undefined);
  try {
    await acquire(lockPath, opts.timeoutMs ?? 10_000);
    try {
      return await fn();
    } finally {
      releaseLock(lockPath);
      if (!opts.keepCandidate) dropCandidate(lockPath);
    }
  } finally {
    release();
    if (inProcess.get(lockPath) === chained) inProcess.delete(lockPath);
  }
}

/**
 * Taking a lock is `link(candidate, lock)`: each process keeps one candidate file
 * per lock (`.<name>.lock.<pid>`, holding its pid) and hard-links it into place.
 * link either succeeds or fails with EEXIST, atomically, like O_EXCL — but it
 * creates no inode, which on this kind of disk is ~20 µs against ~300 µs for
 * O_CREAT. That matters: the audit log takes this lock for every call. The calls
 * are synchronous because they are tiny and a thread-pool hop costs more. Both
 * choices are measured against the simpler code in docs/bench.md (bench:gate).
 */
const candidates = new Map<string, { file: string; ino: number }>();
let exitHookInstalled = false;

function candidateFor(lockPath: string): { file: string; ino: number } {
  let c = candidates.get(lockPath);
  if (!c) {
    const file = path.join(path.dirname(lockPath), `.${path.basename(lockPath)}.${process.pid}`);
    try {
      writeFileSync(file, `${process.pid}\n`, { mode: FILE_MODE });
      c = { file, ino: statSync(file).ino };
    } catch (e) {
      throw writeError(lockPath, e);
    }
    candidates.set(lockPath, c);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', removeCandidates);
    }
  }
  return c;
}

/** Forget the kept candidate for `target`'s lock (see LockOptions.keepCandidate). */
export function dropLockCandidate(target: string): void {
  dropCandidate(`${target}.lock`);
}

function dropCandidate(lockPath: string): void {
  const c = candidates.get(lockPath);
  if (!c) return;
  candidates.delete(lockPath);
  try {
    unlinkSync(c.file);
  } catch {
    // gone already
  }
}

function removeCandidates(): void {
  for (const c of candidates.values()) {
    try {
      unlinkSync(c.file);
    } catch {
      // gone already
    }
  }
  candidates.clear();
  exitHookInstalled = false;
}

function tryCreateLock(lockPath: string): boolean {
  const c = candidateFor(lockPath);
  try {
    linkSync(c.file, lockPath);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'ENOENT') {
      candidates.delete(lockPath); // our candidate was removed: make a new one
      return tryCreateLock(lockPath);
    }
    throw writeError(lockPath, e);
  }
}

/** Removes the lock only if it is still ours (a wrongly broken lock is not deleted from under its new owner). */
function releaseLock(lockPath: string): void {
  try {
    if (statSync(lockPath).ino === candidates.get(lockPath)?.ino) unlinkSync(lockPath);
  } catch {
    // already gone
  }
}

async function acquire(lockPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    if (tryCreateLock(lockPath)) return;
    if (await breakIfStale(lockPath)) continue;
    if (Date.now() > deadline) {
      throw new JaneeError(
        'LOCK_TIMEOUT',
        `${lockPath} is held by another janee process`,
        'wait for it to finish; if no janee process is running, remove the lock file',
      );
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The pid written in a lock file (NaN for garbage). A lock is a few bytes janee wrote in
 * a regular file. A FIFO, directory or device in its place (JANEE_HOME may be synced, or
 * written by someone else) was never made by janee: it is refused at once, never read
 * (a FIFO would hang the write for ever) and never removed (it is not ours).
 */
async function lockOwner(file: string, lockPath: string): Promise<number> {
  try {
    return Number.parseInt((await readAtMost(file, 64, { regularOnly: true })).toString('utf8'), 10);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTFILE' || code === 'EISDIR' || e instanceof TooLargeError) {
      throw new JaneeError(
        'WRITE_FAILED',
        `could not write ${lockPath.slice(0, -'.lock'.length)}: ${lockPath} is not a lock file janee made (a directory, FIFO or device, or too large); the previous version is unchanged`,
        `remove ${lockPath} (no janee process ever makes one like it) and try again`,
      );
    }
    throw e;
  }
}

/**
 * A lock whose owner is gone is moved aside under a unique name first, so two
 * processes breaking the same stale lock cannot delete each other's fresh one.
 */
async function breakIfStale(lockPath: string): Promise<boolean> {
  let pid: number;
  try {
    pid = await lockOwner(lockPath, lockPath);
  } catch (e) {
    if (e instanceof JaneeError) throw e;
    return true; // vanished (released) or unreadable mid-write: retry at once
  }
  if (!Number.isInteger(pid) || pid <= 0) {
    // Being written right now, or garbage. Garbage older than 5 s is stale.
    const st = await fs.lstat(lockPath).catch(() => undefined);
    if (!st || Date.now() - st.mtimeMs < 5_000) return false;
  } else if (pidAlive(pid)) {
    return false;
  }
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.rename(lockPath, aside);
  } catch {
    return true;
  }
  const owner = await lockOwner(aside, lockPath).catch(() => Number.NaN);
  if (Number.isInteger(owner) && owner > 0 && owner !== pid && pidAlive(owner)) {
    // We moved a live lock taken after our read: put it back.
    await fs.link(aside, lockPath).catch(() => undefined);
  }
  await fs.rm(aside, { force: true });
  return true;
}
