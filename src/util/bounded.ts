/**
 * Reading a small file whose path someone else chose (JANEE_PASSPHRASE_FILE, an identity
 * file, the vault) without trusting it to be small or to end: `/dev/zero`, a multi-GB
 * file or a device would otherwise be read until memory runs out (a hang, then a crash
 * with "this is a bug"). At most `max` bytes are accepted; one byte more is enough to
 * say "too large", whatever the file is.
 */
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';

/** Thrown by readAtMost: the file holds more than `max` bytes (or never ends). */
export class TooLargeError extends Error {
  readonly code = 'EFBIG';
  constructor(readonly max: number) {
    super(`larger than ${max} bytes`);
  }
}

/**
 * The file's bytes, or TooLargeError past `max`; fs errors (ENOENT, EISDIR, …) pass through.
 * `regularOnly`: a device or socket is refused (code ENOTFILE) before any read.
 */
export async function readAtMost(file: string, max: number, opts: { regularOnly?: boolean } = {}): Promise<Buffer> {
  // O_NONBLOCK only when a pipe is refused anyway: a FIFO then opens at once (and is
  // refused) instead of blocking; a passphrase may come from one (`<(pass show janee)`).
  const fh = await fs.open(file, opts.regularOnly ? fsConstants.O_RDONLY | fsConstants.O_NONBLOCK : 'r');
  try {
    const st = await fh.stat();
    // EISDIR as fs.readFile says it (messages and tests name it); ENOTFILE for the rest.
    if (opts.regularOnly && !st.isFile())
      throw Object.assign(new Error('not a regular file'), { code: st.isDirectory() ? 'EISDIR' : 'ENOTFILE' });
    // Devices and pipes say size 0: read in chunks and count (no buffer of `max` up front).
    if (!st.isFile()) return await readRest(fh, max, max);
    // A regular file says its size: refuse before reading, then one buffer (wipeable by the caller).
    if (st.size > max) throw new TooLargeError(max);
    const buf = Buffer.allocUnsafe(st.size + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > max) throw new TooLargeError(max);
        // A regular file that grew while we read: continue into a larger buffer (still capped).
        return Buffer.concat([buf, await readRest(fh, max - got, max)]);
      }
      const { bytesRead } = await fh.read(buf, got, buf.length - got, null);
      if (bytesRead === 0) return buf.subarray(0, got);
      got += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

async function readRest(fh: fs.FileHandle, left: number, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    total += bytesRead;
    if (total > left) throw new TooLargeError(max);
    chunks.push(chunk.subarray(0, bytesRead));
  }
}
