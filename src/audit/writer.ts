/**
 * The audit writer: appends hash-chained entries to `<dir>/YYYY-MM-DD.jsonl`.
 *
 * Concurrency. Several processes may append to one directory (the agent, several
 * in-process `janee serve`s). Every append runs "find the chain tail → write the
 * lines" under withLock(`<dir>/audit`), i.e. the lock file `<dir>/audit.lock`.
 * Within a process, appends are queued and written in call order; appends that
 * queue up while a write is in progress are written together (one lock, one
 * write(2)) — group commit, so the per-append cost falls under load. A caller
 * with other calls in progress passes `soon`: the write then starts at the check
 * phase, so the lines of answers read in the same poll join one batch.
 *
 * Tail cache. After writing, the writer remembers (file, inode, size, seq, hash)
 * and keeps the file open in append mode. Under the lock it stats the file: same
 * inode and size means nobody else appended, and the cached seq/hash are the tail
 * (one stat, no read). Otherwise — another process appended, a new UTC day
 * started, the file was replaced, or after an error — it lists the day files and
 * scans the newest one backwards for its last entry (falling back to earlier files
 * if it holds none). (Reading only the bytes another process appended was tried
 * and did not pay: docs/bench.md.)
 *
 * Files. An entry goes into the file of its ts's UTC date, except that it never
 * goes into a file older than the newest existing one (so if the clock steps back
 * the files stay in chain order). ts is taken under the lock, so ts order follows
 * seq order as long as the clock does. Day rollover needs no special case: the
 * first entry of a new file chains to the tail of the newest earlier file.
 *
 * Cost. Per batch: the lock (link + unlink of `audit.lock`), one stat, one
 * write(2) of the lines; the head is rewritten with the batched fsync. The stat
 * and the writes are synchronous calls: a few hundred bytes into the page cache
 * take microseconds, a libuv thread-pool round trip ten times that. Opening
 * files, reading tails and fsync stay asynchronous. Each of these choices is
 * measured against its simpler alternative in docs/bench.md (npm run bench:gate).
 *
 * Durability. append() resolves after write(2) has returned for its line, so the
 * entry survives a crash of this process; fdatasync is batched — at most once per
 * `fsyncIntervalMs` (default 200; 0 = before every append resolves), and on
 * flush()/close(). A day file's directory entry is fsynced with it when created.
 *
 * Damaged tail (e.g. a partial last line after a crash or a full disk). The writer
 * does not refuse forever, and does not chain from garbage: it chains from the last
 * line that parses as an entry, and if the file does not end with `\n` it first
 * writes a `\n`, so the fragment stays on a line of its own. Nothing is lost or
 * hidden: the fragment stays in place and `janee logs verify` reports it (file and
 * line) as a truncated/garbage line, while the chain around it still verifies. (If
 * the damaged line held a complete entry that was cut, verify also reports the
 * seq gap it leaves.)
 *
 * Fail closed. Any I/O error — including a lock that cannot be taken or a failed
 * batched fsync, reported by the next append — rejects with
 * JaneeError('AUDIT_WRITE_FAILED'); the gate must then refuse the call. The cache
 * is dropped and the file reopened on the next append, which re-reads the tail.
 *
 * Head file. `<dir>/head` (256 bytes, rewritten in place: under the lock by the
 * first write, then with each batched fsync) records the last seq, hash and file.
 * A chain alone cannot show that its newest entries were deleted; verify compares
 * the head with the log's end. A head that lags behind the log (the sync not yet
 * due, a crash, or another process's newer head overwritten by our older one) is
 * accepted when it names an entry of the chain. The head is advisory for the writer (never read
 * by it) and a failure to update it does not fail the append.
 *
 * Checkpoints (signing.ts). With a signer (the vault is open), the writer signs
 * the chain head — under the lock, so with other processes' entries in it — into
 * `<dir>/checkpoints` after every `checkpointEvery` (100) entries of its own, at
 * most `checkpointMs` (60 s) after its first unsigned one, when the signer changes
 * (agent lock) and on close (serve exit, agent exit). Without one (locked gate)
 * entries are written unsigned; verify reports them as such. A checkpoint that
 * cannot be written fails the append like any other write error.
 *
 * Retention (`keepDays`). At the first write and after opening a new day file,
 * day files older than keepDays UTC days are deleted, after `<dir>/anchor.json`
 * records the last deleted entry (signed when a signer is active), so the rest of
 * the chain verifies from there. Retention never fails an append.
 */
import { constants as fsc, fstatSync, statSync, writeSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { JaneeError } from '../errors.js';
import { atomicWrite, dropLockCandidate, ensureDir, FILE_MODE, withLock } from '../util/fsutil.js';
import { listLogFiles } from './reader.js';
import { ANCHOR_FILE, CHECKPOINT_FILE, makeCheckpoint, noteSigned, publishKey, type AuditSigner } from './signing.js';
import { fileNameFor, GENESIS_HASH, looseParse, normalizeInput, sealEntry, type AuditEntry, type AuditInput } from './record.js';

export interface AuditWriterOptions {
  /** Batch fsyncs at most this often (default 200 ms; 0 = fsync before each append resolves). */
  fsyncIntervalMs?: number;
  /** Clock, ms since the epoch (tests). Default Date.now. */
  now?: () => number;
  /** How long to wait for another process's lock (default 10 s). */
  lockTimeoutMs?: number;
}

/** Settings from config.yaml `audit:` (see setPolicy). */
export interface AuditPolicy {
  /** Delete day files older than this many days (undefined: keep everything). */
  keepDays?: number | undefined;
  /** Sign a checkpoint after this many of our entries (default 100)… */
  checkpointEvery?: number | undefined;
  /** …or this long after the first unsigned one (default 60 s). */
  checkpointMs?: number | undefined;
}

const DEFAULT_CHECKPOINT_EVERY = 100;
const DEFAULT_CHECKPOINT_MS = 60_000;

export const HEAD_FILE = 'head';
const HEAD_SIZE = 256;
const LOCK_TARGET = 'audit';

type Pending =
  | { input: AuditInput; resolve: (e: AuditEntry) => void; reject: (e: unknown) => void }
  /** Sign the chain head with `signer` (close, lock, timer). */
  | { input: null; signer: AuditSigner; resolve: (e: null) => void; reject: (e: unknown) => void };

interface Tail {
  seq: number;
  hash: string;
}

/** The open day file and what we know of it. */
interface Current {
  file: string;
  fh: fs.FileHandle;
  ino: number;
  size: number;
  /** False only if the file's last byte is not `\n` (damaged tail). */
  endsWithNewline: boolean;
}

function auditWriteFailed(e: unknown, where: string): JaneeError {
  if (e instanceof JaneeError && e.code === 'AUDIT_WRITE_FAILED') return e;
  const detail = e instanceof JaneeError ? e.code : ((e as NodeJS.ErrnoException)?.code ?? 'EIO');
  return new JaneeError(
    'AUDIT_WRITE_FAILED',
    `could not write the audit log in ${where} (${detail}); the call was refused`,
    detail === 'ENOSPC' || detail === 'EDQUOT'
      ? 'free some disk space; janee refuses calls it cannot audit'
      : detail === 'LOCK_TIMEOUT'
        ? `another janee process holds ${path.join(where, `${LOCK_TARGET}.lock`)}; if none is running, remove it`
        : 'check the audit directory and its permissions; janee refuses calls it cannot audit',
  );
}

export interface AppendOptions {
  /**
   * More appends are expected in this turn of the event loop (the caller has
   * other calls in progress): the write waits for the check phase to batch them.
   */
  soon?: boolean;
}

export class AuditWriter {
  readonly dir: string;
  private readonly fsyncIntervalMs: number;
  private readonly now: () => number;
  private readonly lockTimeoutMs: number;
  private readonly lockTarget: string;

  private queue: Pending[] = [];
  private draining: Promise<void> | null = null;
  private dirReady = false;
  private closed = false;

  private cur: Current | null = null;
  private tail: Tail | null = null;
  private headFh: fs.FileHandle | null = null;

  /** Handles written since the last fsync (the dir handle is synced as a directory). */
  private dirty = new Set<fs.FileHandle>();
  private dirDirty = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private syncError: unknown = null;
  /** Old day-file handles to close once synced. */
  private retired: fs.FileHandle[] = [];

  private signer: AuditSigner | undefined;
  private policy: AuditPolicy = {};
  /** Our entries written since our last checkpoint (others sign their own). */
  private unsigned = 0;
  private checkpointTimer: NodeJS.Timeout | null = null;
  /** Key ids already in signing-keys and the pin (by this writer). */
  private published = new Set<string>();
  /** Run retention before the next write (start, policy change, new day file). */
  private pruneDue = true;

  constructor(dir: string, opts: AuditWriterOptions = {}) {
    this.dir = dir;
    this.fsyncIntervalMs = Math.max(0, opts.fsyncIntervalMs ?? 200);
    this.now = opts.now ?? Date.now;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 10_000;
    this.lockTarget = path.join(dir, LOCK_TARGET);
  }

  /**
   * Appends one entry; resolves with it once its line has been written to the
   * file. Rejects with AUDIT_BAD_INPUT (unknown field, wrong type) or
   * AUDIT_WRITE_FAILED (I/O; the caller must refuse the call).
   */
  append(input: AuditInput, opts: AppendOptions = {}): Promise<AuditEntry> {
    if (this.closed) {
      return Promise.reject(new JaneeError('AUDIT_WRITE_FAILED', 'the audit log is closed; the call was refused'));
    }
    let normalized: AuditInput;
    try {
      normalized = normalizeInput(input);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return new Promise<AuditEntry>((resolve, reject) => {
      this.queue.push({ input: normalized, resolve, reject });
      this.kick(opts.soon === true);
    });
  }

  /**
   * The key that signs checkpoints (undefined: the vault is locked, entries stay
   * unsigned). Entries of ours that the previous signer has not covered yet are
   * signed by it first.
   */
  setSigner(signer: AuditSigner | undefined): void {
    if (this.signer && this.signer.id !== signer?.id && this.unsigned > 0) void this.checkpoint(this.signer).catch(() => undefined);
    this.signer = signer;
  }

  /** Retention and checkpoint frequency (config.yaml `audit:`); cheap when unchanged. */
  setPolicy(policy: AuditPolicy): void {
    const p = this.policy;
    if (p.keepDays === policy.keepDays && p.checkpointEvery === policy.checkpointEvery && p.checkpointMs === policy.checkpointMs) return;
    this.policy = { ...policy };
    if (policy.keepDays !== undefined) this.pruneDue = true;
  }

  /** Signs the current chain head now (resolves without signing if there is no signer or nothing to sign). */
  checkpoint(signer: AuditSigner | undefined = this.signer): Promise<void> {
    if (!signer || this.closed) return Promise.resolve();
    return new Promise<null>((resolve, reject) => {
      this.queue.push({ input: null, signer, resolve, reject });
      this.kick();
    }).then(() => undefined);
  }

  /** Waits for queued appends, then fsyncs what has been written. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
    await this.syncNow();
    const err = this.takeSyncError();
    if (err) throw err;
  }

  /** flush(), then closes the files. Later appends reject. */
  async close(): Promise<void> {
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
    // Shutdown: sign what we wrote (the agent's or serve's last entries).
    const last = this.unsigned > 0 ? this.checkpoint().catch(() => undefined) : undefined;
    this.closed = true;
    await last;
    try {
      await this.flush();
    } finally {
      await this.dropFiles();
      dropLockCandidate(this.lockTarget);
    }
  }

  // -------------------------------------------------------------------------

  private kick(soon = false): void {
    if (this.draining) return;
    // With more appends expected (`soon`), the batch starts at the next check phase
    // rather than now: the lines of calls that finish in the same turn of the event
    // loop (answers read in one poll) then share one lock and one write(2), where
    // otherwise each takes the lock in turn. Alone, a line is written at once.
    const start = soon ? new Promise<void>((r) => setImmediate(r)) : Promise.resolve();
    this.draining = start
      .then(() => this.drain())
      .finally(() => {
        this.draining = null;
        if (this.queue.length > 0) this.kick();
      });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, 512);
      try {
        const pendingSyncError = this.takeSyncError();
        if (pendingSyncError) throw pendingSyncError;
        if (!this.dirReady) {
          await ensureDir(this.dir);
          this.dirReady = true;
        }
        const entries = await withLock(this.lockTarget, () => this.writeBatch(batch), {
          timeoutMs: this.lockTimeoutMs,
          keepCandidate: true,
        });
        batch.forEach((p, i) => (p.input === null ? p.resolve(null) : p.resolve(entries[i] as AuditEntry)));
      } catch (e) {
        this.dirReady = false;
        await this.dropFiles();
        const err = auditWriteFailed(e, this.dir);
        for (const p of batch) p.reject(err);
      }
    }
  }

  /** Runs under the lock. */
  /** The tail to record in the head file at the next sync. */
  private headDue: Tail | null = null;

  private async writeBatch(items: Pending[]): Promise<(AuditEntry | null)[]> {
    let t = this.now();
    const firstFile = fileNameFor(new Date(t).toISOString());
    let tail = this.fastTail(firstFile) ?? (await this.slowTail());
    if (this.pruneDue) {
      this.pruneDue = false;
      await this.prune(firstFile).catch(() => undefined); // housekeeping: never fails an append
    }

    const entries: (AuditEntry | null)[] = [];
    let pending: string[] = [];
    let signWith: AuditSigner | undefined;
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as Pending;
      if (item.input === null) {
        signWith = item.signer;
        entries.push(null);
        continue;
      }
      if (i > 0) t = this.now();
      const ts = new Date(t).toISOString();
      let file = fileNameFor(ts);
      if (this.cur && this.cur.file > file) file = this.cur.file;
      if (!this.cur || this.cur.file !== file) {
        if (pending.length > 0) this.writeOut(pending.join(''));
        pending = [];
        await this.openDayFile(file);
      }
      const cur = this.current();
      if (!cur.endsWithNewline) {
        pending.push('\n'); // close off a partial line left by a crash (see the file comment)
        cur.endsWithNewline = true;
      }
      const { entry, line } = sealEntry(item.input, ts, tail.seq + 1, tail.hash);
      pending.push(line);
      entries.push(entry);
      tail = { seq: entry.seq, hash: entry.hash };
      this.unsigned++;
    }
    if (pending.length > 0) this.writeOut(pending.join(''));
    this.tail = tail;
    const every = this.policy.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
    if (signWith && tail.seq > 0) {
      await this.writeCheckpoint(signWith, tail); // asked for (lock, exit): its failure is the caller's
    } else if (this.signer?.active() && this.unsigned >= every && tail.seq > 0) {
      // A periodic checkpoint that cannot be written (a read-only state directory)
      // must not fail the calls whose lines are already in the log: try again later.
      await this.writeCheckpoint(this.signer, tail).catch(() => this.scheduleCheckpoint());
    } else if (this.unsigned > 0) this.scheduleCheckpoint();
    // The head record is advisory and may lag (verify accepts a lagging head), so
    // it is written with the batched fsync rather than once per append: a 256-byte
    // pwrite per call was a fifth of the gate's own per-call cost.
    // The first write creates it at once, so a log never exists without a head.
    if (this.headFh) this.headDue = tail;
    else await this.writeHead(tail);
    if (this.fsyncIntervalMs === 0) {
      await this.syncNow();
      const err = this.takeSyncError();
      if (err) throw err;
    } else {
      this.scheduleSync();
    }
    return entries;
  }

  /**
   * Runs under the lock: appends a signed checkpoint of `tail` to CHECKPOINT_FILE
   * (publishing the key first if this is its first use here). Synced at once:
   * checkpoints are rare (every `checkpointEvery` entries or `checkpointMs`).
   */
  private async writeCheckpoint(signer: AuditSigner, tail: Tail): Promise<void> {
    // The entries a checkpoint covers are durable before the checkpoint is: a crash
    // in between must not leave a signature over lines the log does not hold.
    await this.syncNow();
    const syncError = this.takeSyncError();
    if (syncError) throw syncError;
    const ts = new Date(this.now()).toISOString();
    if (!this.published.has(signer.id)) {
      await publishKey(this.dir, signer, ts);
      this.published.add(signer.id);
    }
    const c = makeCheckpoint('checkpoint', signer, tail.seq, tail.hash, ts);
    const fh = await fs.open(path.join(this.dir, CHECKPOINT_FILE), fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, FILE_MODE);
    try {
      await fh.write(`${JSON.stringify(c)}\n`);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await noteSigned(this.dir, tail);
    this.unsigned = 0;
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
  }

  /** A checkpoint `checkpointMs` after the first unsigned entry, if no count-based one comes first. */
  private scheduleCheckpoint(): void {
    if (this.checkpointTimer || !this.signer) return;
    this.checkpointTimer = setTimeout(() => {
      this.checkpointTimer = null;
      if (this.signer?.active() && this.unsigned > 0 && !this.closed) void this.checkpoint().catch(() => undefined);
    }, this.policy.checkpointMs ?? DEFAULT_CHECKPOINT_MS);
    this.checkpointTimer.unref();
  }

  /**
   * Retention, under the lock: deletes day files older than keepDays (by their
   * UTC date; never the newest file), after writing ANCHOR_FILE with the last
   * deleted entry (seq, hash), signed as an anchor when a signer is active, so the
   * rest of the chain still verifies and says where it starts.
   */
  private async prune(today: string): Promise<void> {
    const keep = this.policy.keepDays;
    if (keep === undefined) return;
    const cutoff = new Date(Date.parse(`${today.slice(0, 10)}T00:00:00Z`) - (keep - 1) * 86_400_000).toISOString().slice(0, 10);
    const files = await listLogFiles(this.dir);
    const old = files.slice(0, -1).filter((f) => f.slice(0, 10) < cutoff);
    if (old.length === 0) return;
    let last: AuditEntry | null = null;
    for (let i = old.length - 1; i >= 0 && !last; i--) last = await lastEntryOf(path.join(this.dir, old[i] as string));
    if (last) {
      const ts = new Date(this.now()).toISOString();
      const signer = this.signer?.active() ? this.signer : undefined;
      if (signer && !this.published.has(signer.id)) {
        await publishKey(this.dir, signer, ts);
        this.published.add(signer.id);
      }
      const signed = signer ? makeCheckpoint('anchor', signer, last.seq, last.hash, ts) : undefined;
      const anchor = { seq: last.seq, hash: last.hash, file: old.at(-1), ts, ...(signed ? { key: signed.key, sig: signed.sig } : {}) };
      await atomicWrite(path.join(this.dir, ANCHOR_FILE), `${JSON.stringify(anchor)}\n`, { backup: false });
    }
    for (const f of old) await fs.unlink(path.join(this.dir, f)).catch(() => undefined);
  }

  /** The cached tail, if the open file is still the newest and nobody appended to it. */
  private fastTail(wantFile: string): Tail | null {
    const cur = this.cur;
    if (!cur || !this.tail || wantFile > cur.file) return null;
    const st = statSync(path.join(this.dir, cur.file), { throwIfNoEntry: false });
    return st && st.ino === cur.ino && st.size === cur.size ? this.tail : null;
  }

  /** Finds the tail from the files; opens the newest file if it exists. */
  private async slowTail(): Promise<Tail> {
    await this.retireCurrent();
    this.tail = null;
    const files = await listLogFiles(this.dir);
    const newest = files.at(-1);
    if (newest !== undefined) await this.openDayFile(newest);
    for (let i = files.length - 1; i >= 0; i--) {
      const e = await lastEntryOf(path.join(this.dir, files[i] as string));
      if (e) return { seq: e.seq, hash: e.hash };
    }
    return { seq: 0, hash: GENESIS_HASH };
  }

  private async openDayFile(file: string): Promise<void> {
    await this.retireCurrent();
    const full = path.join(this.dir, file);
    // a+: append writes, and reads for checking the last byte.
    const fh = await fs.open(full, fsc.O_RDWR | fsc.O_APPEND | fsc.O_CREAT, FILE_MODE);
    try {
      const st = fstatSync(fh.fd);
      let endsWithNewline = true;
      if (st.size > 0) {
        const b = Buffer.alloc(1);
        await fh.read(b, 0, 1, st.size - 1);
        endsWithNewline = b[0] === 0x0a;
      } else {
        this.dirDirty = true; // probably just created: fsync the directory too
        this.pruneDue = true; // a new day: older files may now be past keepDays
      }
      this.cur = { file, fh, ino: st.ino, size: st.size, endsWithNewline };
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
  }

  private current(): Current {
    if (!this.cur) throw new Error('no open audit file');
    return this.cur;
  }

  private writeOut(text: string): void {
    const cur = this.current();
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    try {
      while (off < buf.length) {
        const bytesWritten = writeSync(cur.fh.fd, buf, off, buf.length - off);
        if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
        off += bytesWritten;
      }
    } finally {
      cur.size += off;
      if (off > 0) this.dirty.add(cur.fh);
    }
  }

  private async writeHead(tail: Tail): Promise<void> {
    try {
      if (!this.headFh) {
        this.headFh = await fs.open(path.join(this.dir, HEAD_FILE), fsc.O_RDWR | fsc.O_CREAT, FILE_MODE);
      }
      const json = JSON.stringify({ seq: tail.seq, hash: tail.hash, file: this.cur?.file ?? null });
      const buf = Buffer.alloc(HEAD_SIZE, 0x20);
      buf.write(json, 0, 'utf8');
      buf[HEAD_SIZE - 1] = 0x0a;
      writeSync(this.headFh.fd, buf, 0, HEAD_SIZE, 0);
      this.dirty.add(this.headFh);
    } catch {
      // Advisory only (see the file comment): verify will report a lagging head.
      const h = this.headFh;
      this.headFh = null;
      if (h) {
        this.dirty.delete(h);
        await h.close().catch(() => undefined);
      }
    }
  }

  /** Moves the open day file aside (synced and closed on the next sync). */
  private async retireCurrent(): Promise<void> {
    const cur = this.cur;
    if (!cur) return;
    this.cur = null;
    if (this.dirty.has(cur.fh)) this.retired.push(cur.fh);
    else await cur.fh.close().catch(() => undefined);
  }

  private scheduleSync(): void {
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      void this.syncNow();
    }, this.fsyncIntervalMs);
    this.syncTimer.unref();
  }

  /** fdatasyncs everything written so far; errors are kept for the next append/flush. */
  private async syncNow(): Promise<void> {
    if (this.syncTimer) {
      clearTimeout(this.syncTimer);
      this.syncTimer = null;
    }
    while (this.syncing) await this.syncing;
    if (this.headDue) {
      const due = this.headDue;
      this.headDue = null;
      await this.writeHead(due);
    }
    if (this.dirty.size === 0 && !this.dirDirty && this.retired.length === 0) return;
    const handles = [...this.dirty];
    const retired = this.retired;
    const dirDirty = this.dirDirty;
    this.dirty = new Set();
    this.retired = [];
    this.dirDirty = false;
    this.syncing = (async () => {
      try {
        await Promise.all(handles.map((h) => h.datasync()));
        if (dirDirty) {
          const d = await fs.open(this.dir, fsc.O_RDONLY);
          try {
            await d.sync();
          } finally {
            await d.close();
          }
        }
      } catch (e) {
        this.syncError = e;
      } finally {
        await Promise.all(retired.map((h) => h.close().catch(() => undefined)));
        this.syncing = null;
      }
    })();
    await this.syncing;
  }

  private takeSyncError(): JaneeError | null {
    const e = this.syncError;
    if (e === null) return null;
    this.syncError = null;
    return auditWriteFailed(e, this.dir);
  }

  /** After an error or on close: forget the cache and close every handle. */
  private async dropFiles(): Promise<void> {
    const cur = this.cur;
    this.cur = null;
    this.tail = null;
    const head = this.headFh;
    this.headFh = null;
    const toClose = [...this.retired, ...(cur ? [cur.fh] : []), ...(head ? [head] : [])];
    this.retired = [];
    for (const h of toClose) this.dirty.delete(h);
    await Promise.all(toClose.map((h) => h.close().catch(() => undefined)));
  }
}

/**
 * The last line of `file` that parses as an entry (read backwards in growing
 * chunks), or null. A partial or garbage last line is skipped.
 */
async function lastEntryOf(file: string): Promise<AuditEntry | null> {
  let h: fs.FileHandle;
  try {
    h = await fs.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const { size } = await h.stat();
    let window = 64 * 1024;
    for (;;) {
      const start = Math.max(0, size - window);
      const buf = Buffer.alloc(size - start);
      const { bytesRead } = await h.read(buf, 0, buf.length, start);
      const lines = buf.toString('utf8', 0, bytesRead).split('\n');
      // The first piece may be the tail of a line that began before the window.
      const first = start === 0 ? 0 : 1;
      for (let i = lines.length - 1; i >= first; i--) {
        const e = looseParse(lines[i] as string);
        if (e) return e;
      }
      if (start === 0) return null;
      window *= 4;
    }
  } finally {
    await h.close();
  }
}
