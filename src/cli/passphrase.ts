/**
 * Where a passphrase comes from, in DESIGN.md's order:
 * JANEE_PASSPHRASE_FILE, JANEE_PASSPHRASE, --passphrase-stdin, then a no-echo
 * prompt on the terminal. With none available: a clear error, never a hang.
 *
 * Passphrases are bytes (UTF-8). One trailing newline is stripped from files and
 * stdin, so `echo pass > file` works.
 */
import { JaneeError, usageError } from '../errors.js';
import { readAtMost, TooLargeError } from '../util/bounded.js';
import type { Streams } from './io.js';

interface PassphraseOptions {
  /** --passphrase-stdin was given. */
  fromStdin?: boolean;
  /** Ask twice on a terminal (init, passwd). */
  confirm?: boolean;
  prompt?: string;
  env?: NodeJS.ProcessEnv;
  /** Never prompt (serve, list): return undefined instead of asking. */
  noPrompt?: boolean;
}

type PassphraseSource = 'file' | 'env' | 'stdin' | 'prompt';

export async function getPassphrase(
  io: Streams,
  opts: PassphraseOptions = {},
): Promise<{ passphrase: Uint8Array; source: PassphraseSource }> {
  const got = await findPassphrase(io, opts);
  if (got) return got;
  throw new JaneeError(
    'NO_PASSPHRASE',
    'no passphrase: no terminal to ask on, and none of JANEE_PASSPHRASE_FILE, JANEE_PASSPHRASE or --passphrase-stdin given',
    'run this in a terminal, or set JANEE_PASSPHRASE_FILE (or JANEE_PASSPHRASE) for CI',
  );
}

/** Like getPassphrase, but undefined when no source is available (never throws for "none"). */
export async function findPassphrase(
  io: Streams,
  opts: PassphraseOptions = {},
): Promise<{ passphrase: Uint8Array; source: PassphraseSource } | undefined> {
  const env = opts.env ?? process.env;
  if (env.JANEE_PASSPHRASE_FILE) {
    return {
      passphrase: nonEmpty(stripNewline(await readPassphraseFile(env.JANEE_PASSPHRASE_FILE)), 'JANEE_PASSPHRASE_FILE'),
      source: 'file',
    };
  }
  if (env.JANEE_PASSPHRASE)
    return { passphrase: nonEmpty(new TextEncoder().encode(env.JANEE_PASSPHRASE), 'JANEE_PASSPHRASE'), source: 'env' };
  if (opts.fromStdin) return { passphrase: nonEmpty(await readStdinLine(io.stdin), '--passphrase-stdin'), source: 'stdin' };
  if (opts.noPrompt || !io.stdin.isTTY || !io.stderr.isTTY) return undefined;
  // A mistyped confirmation asks again (both times), up to CONFIRM_TRIES.
  for (let attempt = 1; ; attempt++) {
    const first = await promptHidden(io, opts.prompt ?? 'passphrase: ');
    if (first.length === 0) throw new JaneeError('NO_PASSPHRASE', 'empty passphrase', 'type a passphrase (it is not shown as you type)');
    if (!opts.confirm) return { passphrase: first, source: 'prompt' };
    const second = await promptHidden(io, 'again: ');
    const same = first.length === second.length && first.every((b, i) => b === second[i]);
    second.fill(0);
    if (same) return { passphrase: first, source: 'prompt' };
    first.fill(0);
    if (attempt >= CONFIRM_TRIES)
      throw new JaneeError('PASSPHRASE_MISMATCH', 'the two passphrases differ', 'run the command again and type the same passphrase twice');
    io.stderr.write('janee: warning: the two passphrases differ; type it again\n');
  }
}

const CONFIRM_TRIES = 3;

/** Far more than any passphrase: a larger file (or /dev/zero) is not one, and is not read to the end. */
export const MAX_PASSPHRASE_BYTES = 64 * 1024;

async function readPassphraseFile(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readAtMost(file, MAX_PASSPHRASE_BYTES));
  } catch (e) {
    if (e instanceof TooLargeError)
      throw new JaneeError(
        'NO_PASSPHRASE',
        `JANEE_PASSPHRASE_FILE ${file} holds more than ${MAX_PASSPHRASE_BYTES} bytes: it is not a passphrase`,
        'point JANEE_PASSPHRASE_FILE at a file holding only the passphrase',
      );
    throw new JaneeError(
      'NO_PASSPHRASE',
      `cannot read JANEE_PASSPHRASE_FILE ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      'point JANEE_PASSPHRASE_FILE at a readable file holding the passphrase',
    );
  }
}

function nonEmpty(b: Uint8Array, from: string): Uint8Array {
  if (b.length === 0) throw new JaneeError('NO_PASSPHRASE', `the passphrase from ${from} is empty`, `put the passphrase in ${from}`);
  return b;
}

function stripNewline(b: Uint8Array): Uint8Array {
  let end = b.length;
  if (end > 0 && b[end - 1] === 0x0a) end--;
  if (end > 0 && b[end - 1] === 0x0d) end--;
  return b.subarray(0, end);
}

/** Reads one line from stdin without consuming more than needed for later reads. */
const stdinBuffers = new WeakMap<object, { buf: Buffer; ended: boolean }>();

export async function readStdinLine(stdin: NodeJS.ReadableStream): Promise<Uint8Array> {
  const state = stdinBuffers.get(stdin) ?? { buf: Buffer.alloc(0), ended: false };
  stdinBuffers.set(stdin, state);
  for (;;) {
    const nl = state.buf.indexOf(0x0a);
    if (nl >= 0) {
      const line = new Uint8Array(state.buf.subarray(0, nl));
      state.buf = state.buf.subarray(nl + 1);
      return stripNewline(line);
    }
    if (state.ended) {
      const rest = new Uint8Array(state.buf);
      state.buf = Buffer.alloc(0);
      return stripNewline(rest);
    }
    const chunk = await new Promise<Buffer | null>((resolve, reject) => {
      const onData = (c: Buffer) => done(c);
      const onEnd = () => done(null);
      const onErr = (e: Error) => {
        cleanup();
        reject(e);
      };
      const cleanup = () => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.off('error', onErr);
        stdin.pause();
      };
      const done = (c: Buffer | null) => {
        cleanup();
        resolve(c);
      };
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      stdin.once('error', onErr);
      stdin.resume();
    });
    if (chunk === null) state.ended = true;
    else state.buf = Buffer.concat([state.buf, chunk]);
    // A line this long is no passphrase or answer (stdin may be /dev/zero): stop reading.
    if (state.buf.length > MAX_PASSPHRASE_BYTES && state.buf.indexOf(0x0a) < 0) {
      state.buf.fill(0);
      throw usageError(`a line on stdin is longer than ${MAX_PASSPHRASE_BYTES} bytes`, 'give one short line (the passphrase) on stdin');
    }
  }
}

/** --key-stdin and the fields of `add`: far more than any secret (a PEM key, a service-account JSON). */
export const MAX_STDIN_BYTES = 1024 * 1024;

/** Reads all of stdin (for --key-stdin): the whole value, one trailing newline stripped. */
export async function readStdinAll(stdin: NodeJS.ReadableStream): Promise<Uint8Array> {
  const state = stdinBuffers.get(stdin);
  const chunks: Buffer[] = state ? [state.buf] : [];
  let total = chunks[0]?.length ?? 0;
  if (!state?.ended)
    for await (const c of stdin) {
      chunks.push(c as Buffer);
      total += (c as Buffer).length;
      if (total > MAX_STDIN_BYTES) {
        for (const b of chunks) b.fill(0);
        throw new JaneeError(
          'BAD_KEY',
          `stdin holds more than ${MAX_STDIN_BYTES} bytes: that is not a secret`,
          'pipe only the secret to --key-stdin',
        );
      }
    }
  stdinBuffers.delete(stdin);
  return stripNewline(new Uint8Array(Buffer.concat(chunks)));
}

/** No-echo prompt on the terminal (raw mode), written to stderr. */
export function promptHidden(io: Streams, prompt: string): Promise<Uint8Array> {
  const stdin = io.stdin as NodeJS.ReadStream;
  return new Promise((resolve, reject) => {
    const bytes: number[] = [];
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    // The prompt only once echo is off: a reply sent as soon as it shows (expect
    // scripts, test/helpers/pty.ts) must not reach the terminal in clear.
    io.stderr.write(prompt);
    stdin.resume();
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      io.stderr.write('\n');
      if (err) {
        bytes.fill(0);
        reject(err);
      } else {
        const out = Uint8Array.from(bytes);
        bytes.fill(0);
        resolve(out);
      }
    };
    const onData = (chunk: Buffer) => {
      for (const b of chunk) {
        if (b === 0x0d || b === 0x0a) return finish();
        if (b === 0x03) return finish(new JaneeError('CANCELLED', 'cancelled', undefined, 130));
        if (b === 0x04 && bytes.length === 0) return finish(new JaneeError('CANCELLED', 'cancelled', undefined, 130));
        if (b === 0x7f || b === 0x08) bytes.pop();
        else if (b === 0x15)
          bytes.length = 0; // ^U clears the line
        else bytes.push(b);
      }
      chunk.fill(0);
    };
    stdin.on('data', onData);
  });
}
