/**
 * Drives the BUILT command line (dist/cli/main.js) as a user or a CI job would: a
 * temporary JANEE_HOME (never the user's ~/.janee), stdin from `input` or an empty
 * stream (never the real terminal), and a timeout so a command that waits for a
 * prompt fails the test instead of hanging it.
 *
 * Most runs happen in this process: the built bundle's `main(argv, streams)` with
 * process.env, cwd and argv swapped in for the call (see runInProcess), which skips
 * the ~0.3 s a node start-up costs. What only a real process shows gets one: serve,
 * agent, logs --follow, ulimit, races on purpose (`unlimited`), a call made while
 * another is running here, and `spawn: true`. JANEE_TEST_SPAWN=1 spawns every run
 * (to check that both ways agree).
 *
 * dist/ is built by `npm run build` (npm test runs it as pretest); tests never
 * rebuild.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'vitest';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');

/** `fileSizeLimitBlocks` needs bash's `ulimit -f`. */
export const CAN_LIMIT_FILE_SIZE = spawnSync('bash', ['-c', 'ulimit -f 1'], { stdio: 'ignore' }).status === 0;

/** The passphrase every temp home is created with. */
export const PASSPHRASE = 'correct horse battery staple';
/** init flag that keeps scrypt fast in tests. */
export const FAST = ['--work-factor', '10'] as const;

export interface RunOptions {
  /** The full environment of the child (default: process.env minus JANEE_*). Keys set to undefined are dropped. */
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed. Without it stdin is /dev/null. */
  input?: string | Uint8Array;
  cwd?: string;
  /** Kill the child (SIGKILL) after this long; the result says timedOut. Default 15 s. */
  timeoutMs?: number;
  /** Run under `ulimit -f <blocks>` (1024-byte blocks in bash): writes past that size fail with EFBIG. */
  fileSizeLimitBlocks?: number;
  /** Start at once, bypassing the per-file limit on parallel CLI runs (for races on purpose). Implies a real process. */
  unlimited?: boolean;
  /** A real process even when the command could run in this one (exit status, what reaches the real stdout). */
  spawn?: boolean;
}

export interface RunResult {
  /** Exit code; null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** process.env without any JANEE_* variable, so the caller's own janee setup never leaks in. */
export function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(outerEnv ?? process.env)) if (!k.startsWith('JANEE_') && v !== undefined) env[k] = v;
  return env;
}

/** A copy of `env` with `changes` applied; a key set to undefined is removed. */
export function withEnv<E extends NodeJS.ProcessEnv>(env: E, changes: Record<string, string | undefined>): E {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out as E;
}

function cleanEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * At most this many CLI processes run at once per test file: each spends ~0.5 s of
 * CPU starting up, and a test that starts twenty at once only makes every one slow
 * (and its timeout meaningless). Waiting for a slot does not count against timeoutMs.
 */
const MAX_PARALLEL = Math.max(2, availableParallelism());
let running = 0;
const waiting: (() => void)[] = [];

async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_PARALLEL) await new Promise<void>((r) => waiting.push(r));
  else running++;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next)
      next(); // hand the slot over
    else running--;
  }
}

export function runJanee(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (canRunInProcess(args, opts)) return runInProcess(args, opts);
  return opts.unlimited ? spawnJanee(args, opts) : slot(() => spawnJanee(args, opts));
}

// ---------------------------------------------------------------------------
// In this process

/** Commands whose behaviour is the process itself: its stdin, signals, lifetime. */
const PROCESS_COMMANDS = new Set(['serve', 'agent']);

/**
 * Test files whose runs stay real processes although each command could run here:
 * they change config.yaml or the vault under a running agent or serve (directly or
 * with a CLI command) and ask it at once, relying on a CLI start-up to outlast the
 * 250 ms in which it may still answer from its previous view (src/util/watched.ts).
 * Drop an entry once its tests wait for the change to be seen instead.
 */
const SPAWN_FILES = ['test/agent/vault.test.ts', 'test/agent/serve.test.ts'];

function inSpawnFile(): boolean {
  const file = expect.getState().testPath;
  return file !== undefined && SPAWN_FILES.some((f) => file.endsWith(f));
}

/** Set while an in-process call runs: process.env as it was before (baseEnv reads it). */
let outerEnv: NodeJS.ProcessEnv | undefined;
/** Set for good when an in-process call timed out: it may still be running, so later calls spawn. */
let poisoned = false;

function canRunInProcess(args: readonly string[], opts: RunOptions): boolean {
  if (opts.spawn || opts.unlimited || opts.fileSizeLimitBlocks !== undefined || (outerEnv ?? process.env).JANEE_TEST_SPAWN) return false;
  // One at a time (process.env and cwd are the call's): a run started meanwhile is a real process, so runs that overlap still do.
  if (outerEnv !== undefined || poisoned || inSpawnFile()) return false;
  const word = args.find((a) => !a.startsWith('-'));
  if (word !== undefined && PROCESS_COMMANDS.has(word)) return false;
  if (word === 'logs' && args.some((a) => a === '-f' || a === '--follow' || /^-[a-z]*f/.test(a))) return false;
  return true;
}

type CliModule = { main(argv: string[], io: object): Promise<number> };
let cliModule: Promise<CliModule> | undefined;

/**
 * The built bundle, loaded by Node itself: vitest.config.ts externalizes dist/cli/
 * so vitest does not transform it (that would test something else). The marker
 * tells main.js not to run process.argv as a command line on import.
 */
function loadCli(): Promise<CliModule> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it in pretest)`);
  (globalThis as Record<symbol, unknown>)[Symbol.for('janee.cli.embedded')] = true;
  cliModule ??= import(/* @vite-ignore */ pathToFileURL(CLI).href) as Promise<CliModule>;
  return cliModule;
}

function capture(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer | string, encoding, cb) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk));
      cb();
    },
  });
}

/**
 * The process events a command may listen to for its own lifetime (lock candidate
 * cleanup, Ctrl-C). Only these are cleaned up after an in-process call: a listener
 * vitest adds meanwhile to anything else is not ours to remove.
 */
const LIFETIME_EVENTS = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGPIPE'] as const;

/** The listeners on each lifetime event, so the ones a call adds can be found. */
function processListeners(): Map<string, Set<unknown>> {
  return new Map(LIFETIME_EVENTS.map((e) => [e, new Set(process.rawListeners(e))]));
}

function replaceEnv(next: NodeJS.ProcessEnv): void {
  // In place: process.env keeps its special behaviour and every reference to it stays valid.
  for (const k of Object.keys(process.env)) if (!Object.hasOwn(next, k) || next[k] === undefined) delete process.env[k];
  for (const [k, v] of Object.entries(next)) if (v !== undefined) process.env[k] = v;
}

/**
 * One command line run by the built bundle's main() in this process, with what a
 * child process would get: opts.env as the whole of process.env, opts.cwd, argv
 * `node dist/cli/main.js …`, stdin from opts.input (else empty), and stdout/stderr
 * captured — also writes that bypass the streams handed to main(). Afterwards
 * everything is put back, and the process's exit is played out: the `exit`
 * listeners the call added run (janee removes its lock candidate files there) and
 * the lifetime listeners it added are removed.
 */
async function runInProcess(
  args: readonly string[],
  opts: RunOptions,
  orElse: () => Promise<RunResult> = () => slot(() => spawnJanee(args, opts)),
): Promise<RunResult> {
  const cli = await loadCli();
  if (outerEnv !== undefined || poisoned) return orElse(); // another call started while this one loaded
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = capture(out);
  const stderr = capture(err);
  const input = opts.input === undefined ? [] : [Buffer.from(opts.input)];
  const stdin = Readable.from(input, { objectMode: false });
  const saved = {
    env: { ...process.env },
    cwd: process.cwd(),
    argv: process.argv,
    exitCode: process.exitCode,
    listeners: processListeners(),
    stdoutWrite: Object.getOwnPropertyDescriptor(process.stdout, 'write'),
    stderrWrite: Object.getOwnPropertyDescriptor(process.stderr, 'write'),
  };
  outerEnv = saved.env;
  let timer: NodeJS.Timeout | undefined;
  let code: number | undefined;
  try {
    replaceEnv(cleanEnv(opts.env ?? baseEnv()));
    process.chdir(opts.cwd ?? REPO_ROOT);
    process.argv = [process.execPath, CLI, ...args];
    process.stdout.write = stdout.write.bind(stdout) as typeof process.stdout.write;
    process.stderr.write = stderr.write.bind(stderr) as typeof process.stderr.write;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), opts.timeoutMs ?? 15_000)));
    code = await Promise.race([cli.main([...args], { stdin, stdout, stderr }), timeout]);
    if (code === undefined) poisoned = true;
    else for (const f of newListeners(saved.listeners, 'exit')) (f as (code: number) => void)(code);
  } finally {
    clearTimeout(timer);
    for (const event of LIFETIME_EVENTS)
      for (const f of newListeners(saved.listeners, event)) process.removeListener(event, f as () => void);
    restoreWrite(process.stdout, saved.stdoutWrite);
    restoreWrite(process.stderr, saved.stderrWrite);
    process.argv = saved.argv;
    process.chdir(saved.cwd);
    replaceEnv(saved.env);
    process.exitCode = saved.exitCode;
    outerEnv = undefined;
  }
  const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
  if (code === undefined) return { code: null, signal: 'SIGKILL', stdout: text(out), stderr: text(err), timedOut: true };
  return { code, signal: null, stdout: text(out), stderr: text(err), timedOut: false };
}

/** Always in this process (for tests of the runner itself); refuses while another in-process run is going. */
export function runJaneeInProcess(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runInProcess(args, opts, () => Promise.reject(new Error('another in-process janee run is going')));
}

function newListeners(before: Map<string, Set<unknown>>, event: string): unknown[] {
  const had = before.get(event);
  return process.rawListeners(event).filter((f) => !had?.has(f));
}

function restoreWrite(stream: NodeJS.WriteStream, own: PropertyDescriptor | undefined): void {
  if (own) Object.defineProperty(stream, 'write', own);
  else delete (stream as { write?: unknown }).write; // back to the prototype's
}

// ---------------------------------------------------------------------------
// A real process

function spawnJanee(args: readonly string[], opts: RunOptions): Promise<RunResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it in pretest)`);
  const env = cleanEnv(opts.env ?? baseEnv());
  const [cmd, argv] =
    opts.fileSizeLimitBlocks === undefined
      ? [process.execPath, [CLI, ...args]]
      : ['bash', ['-c', `ulimit -f ${Math.floor(opts.fileSizeLimitBlocks)} && exec "$0" "$@"`, process.execPath, CLI, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: opts.cwd ?? REPO_ROOT,
      env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 15_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // the child may exit without reading stdin (EPIPE)
      child.stdin.end(opts.input);
    }
  });
}

/** The environment tempHome() returns. */
export type JaneeEnv = NodeJS.ProcessEnv & { JANEE_HOME: string; JANEE_PASSPHRASE: string };

const made: string[] = [];

/**
 * A fresh temp dir; JANEE_HOME is `<dir>/home`, not created yet (init creates it).
 * The env is process.env minus JANEE_*, plus JANEE_HOME and JANEE_PASSPHRASE.
 */
export async function tempHome(): Promise<JaneeEnv> {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 'janee-cli-test-'));
  made.push(dir);
  return { ...baseEnv(), JANEE_HOME: path.join(dir, 'home'), JANEE_PASSPHRASE: PASSPHRASE };
}

/** The temp dir that holds `home` (for passphrase files and such outside JANEE_HOME). */
export function scratchDir(env: { JANEE_HOME: string }): string {
  return path.dirname(env.JANEE_HOME);
}

/** Removes every dir tempHome made (call from afterAll). */
export async function cleanupTempHomes(): Promise<void> {
  const dirs = made.splice(0);
  await Promise.all(
    dirs.map(async (d) => {
      // A test may leave a chmod 000 file or dir behind; make it removable first.
      await fs.chmod(d, 0o700).catch(() => undefined);
      await fs.rm(d, { recursive: true, force: true });
    }),
  );
}

/** tempHome + `janee init --work-factor 10`; throws if init fails. */
export async function initHome(): Promise<JaneeEnv> {
  const env = await tempHome();
  const r = await runJanee(['init', ...FAST], { env });
  if (r.code !== 0) throw new Error(`janee init failed (${r.code}): ${r.stderr}`);
  return env;
}

/** `janee add NAME --base-url URL --auth bearer --key-stdin` with `key`; throws if it fails. */
export async function addBearer(env: JaneeEnv, name: string, baseUrl: string, key: string): Promise<void> {
  const r = await runJanee(['add', name, '--base-url', baseUrl, '--auth', 'bearer', '--key-stdin'], { env, input: `${key}\n` });
  if (r.code !== 0) throw new Error(`janee add ${name} failed (${r.code}): ${r.stderr}`);
}

/** A copy of an existing home (files and all) under a new temp dir: skips scrypt for setups shared by many cases. */
export async function cloneHome(env: JaneeEnv): Promise<JaneeEnv> {
  const copy = await tempHome();
  await fs.cp(env.JANEE_HOME, copy.JANEE_HOME, { recursive: true, preserveTimestamps: true });
  await fs.chmod(copy.JANEE_HOME, 0o700);
  return { ...copy, JANEE_PASSPHRASE: env.JANEE_PASSPHRASE };
}

/** Every regular file under `dir`, recursively (dot files and .bak included), as relative paths, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Bytes of every file under `dir`, keyed by relative path. */
export async function snapshot(dir: string): Promise<Map<string, Buffer>> {
  const m = new Map<string, Buffer>();
  for (const f of await listFiles(dir)) m.set(f, await fs.readFile(path.join(dir, f)));
  return m;
}

/** Lock files (`x.lock`, `.x.lock.<pid>`, `x.lock.stale-…`) and temp files a failed or racing writer could leave behind. */
export function leftovers(files: readonly string[]): string[] {
  return files.filter((f) => /\.lock$|\.lock\.|\.tmp-|\.tmp$/.test(path.basename(f)));
}

/** The two lines the CLI's error contract promises: `janee: error: …` and `janee: hint: …`. */
export function errorLines(stderr: string): { error: string | undefined; hint: string | undefined } {
  const lines = stderr.split('\n');
  return {
    error: lines.find((l) => l.startsWith('janee: error: ')),
    hint: lines.find((l) => l.startsWith('janee: hint: ')),
  };
}
