import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditWriter, sha256Hex, verifyAudit } from '../../src/audit/index.js';
import { input, lines, tempDir, writeLines } from './helpers.js';

const DAY1 = '2026-03-15.jsonl';
const DAY2 = '2026-03-16.jsonl';

/** 10 entries: 6 on day 1, 4 on day 2. */
async function makeLog(): Promise<string> {
  const dir = await tempDir();
  let t = Date.parse('2026-03-15T20:00:00.000Z');
  const w = new AuditWriter(dir, { now: () => t });
  for (let i = 0; i < 10; i++) {
    if (i === 6) t = Date.parse('2026-03-16T01:00:00.000Z');
    await w.append(input({ path: `/v1/charges/${i}`, ms: i }));
    t += 1000;
  }
  await w.close();
  return dir;
}

/** Recomputes the hash of an edited line, as a careless forger would. */
function rehash(line: string): string {
  const unhashed = line.replace(/,"hash":"[0-9a-f]{64}"\}$/, '}');
  return `${unhashed.slice(0, -1)},"hash":"${sha256Hex(unhashed)}"}`;
}

describe('verifyAudit', () => {
  it('accepts an intact log, an empty dir and a missing dir', async () => {
    const dir = await makeLog();
    expect(await verifyAudit(dir)).toMatchObject({ ok: true, entries: 10, problems: [] });
    expect(await verifyAudit(await tempDir())).toMatchObject({ ok: true, entries: 0, problems: [] });
    expect(await verifyAudit(path.join(await tempDir(), 'nope'))).toMatchObject({ ok: true, entries: 0, problems: [] });
  });

  it('detects an edited entry at its line', async () => {
    const dir = await makeLog();
    const f = path.join(dir, DAY1);
    const ls = await lines(f);
    ls[2] = (ls[2] as string).replace('"status":200', '"status":201');
    await writeLines(f, ls);
    const r = await verifyAudit(dir);
    expect(r.ok).toBe(false);
    expect(r.entries).toBe(10);
    expect(r.problems).toEqual([{ file: DAY1, line: 3, message: expect.stringMatching(/hash mismatch/) }]);
  });

  it('detects an edited and re-hashed entry at the next line', async () => {
    const dir = await makeLog();
    const f = path.join(dir, DAY2);
    const ls = await lines(f);
    ls[1] = rehash((ls[1] as string).replace('"agent":"claude"', '"agent":"someone"'));
    await writeLines(f, ls);
    const r = await verifyAudit(dir);
    expect(r.problems).toEqual([{ file: DAY2, line: 3, message: expect.stringMatching(/prev does not match/) }]);
  });

  it('detects a deleted entry', async () => {
    const dir = await makeLog();
    const f = path.join(dir, DAY1);
    const ls = await lines(f);
    ls.splice(3, 1);
    await writeLines(f, ls);
    const r = await verifyAudit(dir);
    expect(r.entries).toBe(9);
    expect(r.problems).toEqual([{ file: DAY1, line: 4, message: expect.stringMatching(/seq jumps from 3 to 5: 1 entry deleted/) }]);
  });

  it('detects a deleted entry at a day boundary', async () => {
    const dir = await makeLog();
    const f = path.join(dir, DAY2);
    await writeLines(f, (await lines(f)).slice(1));
    const r = await verifyAudit(dir);
    expect(r.problems).toEqual([{ file: DAY2, line: 1, message: expect.stringMatching(/seq jumps from 6 to 8/) }]);
  });

  it('detects reordered entries', async () => {
    const dir = await makeLog();
    const f = path.join(dir, DAY1);
    const ls = await lines(f);
    [ls[1], ls[2]] = [ls[2] as string, ls[1] as string];
    await writeLines(f, ls);
    const r = await verifyAudit(dir);
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.line)).toEqual([2, 3, 4]);
    expect(r.problems[1]?.message).toMatch(/reordered/);
    expect(r.problems.every((p) => p.file === DAY1)).toBe(true);
  });

  it('detects entries moved to another file (reordering across days)', async () => {
    const dir = await makeLog();
    const f1 = path.join(dir, DAY1);
    const f2 = path.join(dir, DAY2);
    const l1 = await lines(f1);
    const l2 = await lines(f2);
    const moved = l1.pop() as string;
    l2.push(moved);
    await writeLines(f1, l1);
    await writeLines(f2, l2);
    const r = await verifyAudit(dir);
    expect(r.problems.map((p) => `${p.file}:${p.line}`)).toEqual([`${DAY2}:1`, `${DAY2}:5`]);
  });

  it('detects a truncated last line and a garbage line', async () => {
    const dir = await makeLog();
    const f = path.join(dir, DAY2);
    const text = await fs.readFile(f, 'utf8');
    await fs.writeFile(f, text.slice(0, -40)); // cut the last line short
    let r = await verifyAudit(dir);
    expect(r.problems).toEqual([
      { file: DAY2, line: 4, message: expect.stringMatching(/no newline/) },
      { file: DAY2, line: 4, message: expect.stringMatching(/truncated or garbage/) },
      expect.objectContaining({ file: 'head', message: expect.stringMatching(/newest 1 entry was deleted/) }),
    ]);

    const dir2 = await makeLog();
    const f1 = path.join(dir2, DAY1);
    const ls = await lines(f1);
    ls.splice(2, 0, 'hello \u001b[31mworld');
    await writeLines(f1, ls);
    r = await verifyAudit(dir2);
    expect(r.problems).toEqual([{ file: DAY1, line: 3, message: expect.stringMatching(/garbage/) }]);
    expect(r.entries).toBe(10);
  });

  it('reports a non-canonical line even if its hash is right', async () => {
    const dir = await makeLog();
    const f = path.join(dir, DAY1);
    const ls = await lines(f);
    // Extra field inserted and hash recomputed over the new text: chain breaks at the next line too.
    ls[0] = rehash((ls[0] as string).replace('"ms":0,', '"ms":0,"body":"x",'));
    await writeLines(f, ls);
    const r = await verifyAudit(dir);
    expect(r.problems[0]).toMatchObject({ file: DAY1, line: 1, message: expect.stringMatching(/canonical/) });
    expect(r.problems[1]).toMatchObject({ file: DAY1, line: 2, message: expect.stringMatching(/prev does not match/) });
  });

  it('detects deletion of the newest entries through the head file', async () => {
    const dir = await makeLog();
    const f = path.join(dir, DAY2);
    await writeLines(f, (await lines(f)).slice(0, 2)); // drop seq 9 and 10: the chain alone is still valid
    let r = await verifyAudit(dir);
    expect(r.problems).toEqual([
      { file: 'head', line: 1, message: expect.stringMatching(/log ends at seq 8: the newest 2 entries were deleted/) },
    ]);

    // Deleting a whole newest file, likewise.
    const dir2 = await makeLog();
    await fs.rm(path.join(dir2, DAY2));
    r = await verifyAudit(dir2);
    expect(r.problems).toEqual([expect.objectContaining({ file: 'head', message: expect.stringMatching(/newest 4 entries/) })]);

    // A head that lags (crash between the line and the head write) is fine.
    const dir3 = await makeLog();
    const head = JSON.parse(await fs.readFile(path.join(dir3, 'head'), 'utf8'));
    const l2 = await lines(path.join(dir3, DAY2));
    const e8 = JSON.parse(l2[1] as string);
    await fs.writeFile(path.join(dir3, 'head'), JSON.stringify({ ...head, seq: 8, hash: e8.hash }));
    expect((await verifyAudit(dir3)).ok).toBe(true);

    // A missing head with entries present is reported.
    await fs.rm(path.join(dir3, 'head'));
    expect((await verifyAudit(dir3)).problems).toEqual([
      expect.objectContaining({ file: 'head', message: expect.stringMatching(/missing/) }),
    ]);
  });

  it('detects deletion of the oldest entries', async () => {
    const dir = await makeLog();
    await fs.rm(path.join(dir, DAY1));
    const r = await verifyAudit(dir);
    expect(r.problems).toEqual([{ file: DAY2, line: 1, message: expect.stringMatching(/starts at seq 7/) }]);
  });
});
