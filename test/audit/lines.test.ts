/**
 * Streaming: readers and verify go line by line in bounded memory (a day file can
 * be larger than the biggest string V8 allows). Lines across chunk boundaries, a
 * line far over the cap, and a partial last line. (Memory on a 600 MB log is shown
 * by `npm run bench:audit`, not here.)
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditWriter, fileLines, readEntries, verifyAudit } from '../../src/audit/index.js';
import { fileLinesReverse } from '../../src/audit/lines.js';
import { input, lines, tempDir, writeLines } from './helpers.js';

describe('fileLines', () => {
  it('splits across 1 MiB chunks, skips an over-long line without keeping it, and flags a partial last line', async () => {
    const file = path.join(await tempDir(), 'x.jsonl');
    const a = 'a'.repeat((1 << 20) - 3); // ends just before the first chunk boundary
    const huge = 'h'.repeat(3 << 20);
    await fs.writeFile(file, `${a}\nbc\n${huge}\n\nlast-no-newline`);
    const got = [];
    for await (const l of fileLines(file, { maxLine: 2 << 20 }))
      got.push({ ...l, text: l.text.length > 20 ? `${l.text.slice(0, 3)}…${l.text.length}` : l.text });
    expect(got).toEqual([
      { lineNo: 1, text: `aaa…${a.length}`, tooLong: false, terminated: true, end: a.length + 1 },
      { lineNo: 2, text: 'bc', tooLong: false, terminated: true, end: a.length + 4 },
      { lineNo: 3, text: '', tooLong: true, terminated: true, end: a.length + 4 + huge.length + 1 },
      { lineNo: 4, text: '', tooLong: false, terminated: true, end: a.length + 4 + huge.length + 2 },
      { lineNo: 5, text: 'last-no-newline', tooLong: false, terminated: false, end: a.length + 4 + huge.length + 2 + 15 },
    ]);
  });
});

describe('fileLinesReverse', () => {
  it('gives exactly the lines of fileLines, last first, across chunk boundaries, long lines and partial ends', async () => {
    const dir = await tempDir();
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const cases: string[] = ['', '\n', 'a', 'a\n', '\n\n', 'x\ny', 'é😀\nß\n'];
    for (let k = 0; k < 6; k++) {
      const parts: string[] = [];
      let size = 0;
      while (size < 2.5 * (1 << 20)) {
        const len = rnd(10) === 0 ? rnd(200_000) : rnd(300);
        const l = String.fromCharCode(97 + rnd(26)).repeat(len);
        parts.push(l);
        size += len + 1;
      }
      cases.push(parts.join('\n') + (k % 2 ? '\n' : ''));
    }
    for (const [i, text] of cases.entries()) {
      const file = path.join(dir, `c${i}`);
      await fs.writeFile(file, text);
      const fwd = [];
      for await (const l of fileLines(file)) fwd.push({ text: l.text, tooLong: l.tooLong, terminated: l.terminated, end: l.end });
      const rev = [];
      for await (const l of fileLinesReverse(file)) rev.push({ text: l.text, tooLong: l.tooLong, terminated: l.terminated, end: l.end });
      expect(rev.reverse(), `case ${i}`).toEqual(fwd);
    }
  });
});

describe('streaming verify and readers', () => {
  it('report a line over the cap and a partial last line by number; the chain around them verifies', async () => {
    const dir = await tempDir();
    const w = new AuditWriter(dir, { fsyncIntervalMs: 0 });
    for (let i = 0; i < 6; i++) await w.append(input({ path: `/p/${i}` }));
    await w.close();
    const file = path.join(dir, (await fs.readdir(dir)).find((f) => f.endsWith('.jsonl')) as string);
    const ls = await lines(file);
    await writeLines(file, [...ls.slice(0, 3), `{"garbage":"${'g'.repeat(200_000)}"}`, ...ls.slice(3)]);
    await fs.appendFile(file, '{"ts":"2026-'); // a crash mid-line
    const v = await verifyAudit(dir);
    expect(v.entries).toBe(6);
    expect(v.problems).toEqual([
      { file: path.basename(file), line: 4, message: 'not valid JSON (garbage line, longer than any audit entry)' },
      { file: path.basename(file), line: 8, message: 'truncated line (no newline at the end of the file)' },
      { file: path.basename(file), line: 8, message: 'not valid JSON (truncated or garbage line)' },
    ]);
    expect((await readEntries(dir)).map((e) => e.path)).toEqual(['/p/0', '/p/1', '/p/2', '/p/3', '/p/4', '/p/5']);
    expect((await readEntries(dir, { limit: 2 })).map((e) => e.path)).toEqual(['/p/4', '/p/5']);
  });
});
