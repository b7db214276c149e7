/**
 * Reading a day file line by line in bounded memory: `janee logs` and `janee logs
 * verify` must work on a file of any size (a flooded log can be larger than the
 * biggest string V8 allows, 512 MiB). Reads 1 MiB chunks; a line longer than
 * `maxLine` bytes is not kept (it is reported as `tooLong`, its bytes skipped), so
 * memory stays at about one chunk plus one line.
 */
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';

/** No audit line comes near this (every field is capped); anything longer is garbage. */
export const MAX_LINE_BYTES = 64 * 1024;
const CHUNK = 1 << 20;

/**
 * The file opened for reading, if it is a regular file: a device (/dev/zero) never ends
 * and a FIFO blocks the open itself, so whoever can write the audit directory could make
 * `logs` and `logs verify` hang instead of fail. O_NONBLOCK: opening a FIFO returns at
 * once (then refused); it changes nothing for a regular file. Refused with code ENOTFILE (EISDIR for a directory).
 */
export async function openRegular(file: string): Promise<fs.FileHandle> {
  const fh = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  let st: Awaited<ReturnType<fs.FileHandle['stat']>>;
  try {
    st = await fh.stat();
  } catch (e) {
    await fh.close();
    throw e;
  }
  if (st.isFile()) return fh;
  await fh.close();
  throw Object.assign(new Error(`${file} is not a regular file`), { code: st.isDirectory() ? 'EISDIR' : 'ENOTFILE' });
}

export interface FileLine {
  /** 1-based. */
  lineNo: number;
  /** The line without its `\n`; '' when tooLong. */
  text: string;
  /** The line was longer than maxLine bytes (text is empty). */
  tooLong: boolean;
  /** False only for a last line with no `\n` after it. */
  terminated: boolean;
  /** Byte offset just past this line's `\n` (or the end of the file). */
  end: number;
}

export async function* fileLines(file: string, opts: { start?: number; maxLine?: number } = {}): AsyncGenerator<FileLine> {
  const maxLine = opts.maxLine ?? MAX_LINE_BYTES;
  const fh = await openRegular(file);
  try {
    const buf = Buffer.alloc(CHUNK);
    let pos = opts.start ?? 0;
    let parts: Buffer[] = [];
    let partLen = 0;
    let tooLong = false;
    let lineNo = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) break;
      let from = 0;
      while (from < bytesRead) {
        const nl = buf.indexOf(0x0a, from);
        const stop = nl < 0 || nl >= bytesRead ? bytesRead : nl;
        if (stop === nl && partLen === 0 && !tooLong && nl - from <= maxLine) {
          // the common case: a whole line inside this chunk, no copy
          yield { lineNo: ++lineNo, text: buf.toString('utf8', from, nl), tooLong: false, terminated: true, end: pos + nl + 1 };
          from = nl + 1;
          continue;
        }
        if (!tooLong) {
          if (partLen + (stop - from) > maxLine) {
            tooLong = true;
            parts = [];
            partLen = 0;
          } else if (stop > from) {
            parts.push(Buffer.from(buf.subarray(from, stop)));
            partLen += stop - from;
          }
        }
        if (stop === bytesRead) break;
        lineNo++;
        const text = tooLong
          ? ''
          : parts.length === 1
            ? (parts[0] as Buffer).toString('utf8')
            : Buffer.concat(parts, partLen).toString('utf8');
        yield { lineNo, text, tooLong, terminated: true, end: pos + nl + 1 };
        parts = [];
        partLen = 0;
        tooLong = false;
        from = nl + 1;
      }
      pos += bytesRead;
    }
    if (partLen > 0 || tooLong) {
      lineNo++;
      yield { lineNo, text: tooLong ? '' : Buffer.concat(parts, partLen).toString('utf8'), tooLong, terminated: false, end: pos };
    }
  } finally {
    await fh.close();
  }
}

interface ReverseLine {
  text: string;
  tooLong: boolean;
  terminated: boolean;
  /** Byte offsets: where the line starts, and just past its `\n` (or the end of the file). */
  start: number;
  end: number;
}

/**
 * The lines of a file from the last to the first, reading 1 MiB chunks backwards:
 * `janee logs -n N` needs only the end of a day file, whatever its size. Same
 * rules as fileLines (a line over `maxLine` is tooLong, a last line without `\n`
 * is not terminated).
 */
export async function* fileLinesReverse(file: string, opts: { maxLine?: number } = {}): AsyncGenerator<ReverseLine> {
  const maxLine = opts.maxLine ?? MAX_LINE_BYTES;
  const fh = await openRegular(file);
  try {
    const size = (await fh.stat()).size;
    if (size === 0) return;
    const buf = Buffer.alloc(CHUNK);
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, size - 1);
    let terminated = one[0] === 0x0a;
    let lineEnd = terminated ? size - 1 : size; // where the current line's bytes end
    let pieces: Buffer[] = []; // the current line's bytes seen so far, last piece first
    let len = 0;
    let tooLong = false;
    const take = (from: number, to: number): void => {
      if (tooLong || to <= from) return;
      if (len + (to - from) > maxLine) {
        tooLong = true;
        pieces = [];
        len = 0;
        return;
      }
      pieces.push(Buffer.from(buf.subarray(from, to)));
      len += to - from;
    };
    const line = (start: number): ReverseLine => {
      const text = tooLong ? '' : Buffer.concat(pieces.reverse(), len).toString('utf8');
      const l = { text, tooLong, terminated, start, end: terminated ? lineEnd + 1 : lineEnd };
      pieces = [];
      len = 0;
      tooLong = false;
      terminated = true;
      return l;
    };
    let pos = lineEnd;
    while (pos > 0) {
      const n = Math.min(CHUNK, pos);
      pos -= n;
      await fh.read(buf, 0, n, pos);
      let stop = n;
      while (stop > 0) {
        const nl = buf.lastIndexOf(0x0a, stop - 1);
        if (nl < 0) {
          take(0, stop);
          break;
        }
        take(nl + 1, stop);
        yield line(pos + nl + 1);
        lineEnd = pos + nl;
        stop = nl;
      }
    }
    yield line(0);
  } finally {
    await fh.close();
  }
}
