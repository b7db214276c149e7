import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditWriter, followEntries, readEntries, type AuditEntry } from '../../src/audit/index.js';
import { input, tempDir } from './helpers.js';

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('readEntries', () => {
  it('reads across day files in order, filters, and limits to the last N', async () => {
    const dir = await tempDir();
    let t = Date.parse('2026-03-14T12:00:00.000Z');
    const w = new AuditWriter(dir, { now: () => t });
    const specs = [
      ['claude', 'stripe'],
      ['cursor', 'github'],
      ['claude', 'github'],
      ['claude', 'stripe'],
      ['cursor', 'stripe'],
      ['claude', 'stripe'],
    ] as const;
    for (const [i, [agent, service]] of specs.entries()) {
      t += 12 * 3600 * 1000; // two entries a day → 3-4 files
      await w.append(input({ agent, service, ms: i }));
    }
    await w.close();
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.jsonl')).length).toBeGreaterThanOrEqual(3);

    const all = await readEntries(dir);
    expect(all.map((e) => e.ms)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await readEntries(dir, { service: 'stripe' })).map((e) => e.ms)).toEqual([0, 3, 4, 5]);
    expect((await readEntries(dir, { agent: 'claude' })).map((e) => e.ms)).toEqual([0, 2, 3, 5]);
    expect((await readEntries(dir, { agent: 'claude', service: 'stripe' })).map((e) => e.ms)).toEqual([0, 3, 5]);
    expect((await readEntries(dir, { limit: 2 })).map((e) => e.ms)).toEqual([4, 5]);
    expect((await readEntries(dir, { service: 'github', limit: 1 })).map((e) => e.ms)).toEqual([2]);
    expect((await readEntries(dir, { limit: 100 })).length).toBe(6);
    expect(await readEntries(dir, { limit: 0 })).toEqual([]);
    expect(await readEntries(path.join(dir, 'missing'))).toEqual([]);
  });

  it('skips damaged lines and a partial last line', async () => {
    const dir = await tempDir();
    const w = new AuditWriter(dir);
    await w.append(input({ ms: 1 }));
    await w.close();
    const file = path.join(dir, (await fs.readdir(dir)).find((f) => f.endsWith('.jsonl')) as string);
    await fs.appendFile(file, 'garbage\n{"ts":"2026');
    expect((await readEntries(dir)).map((e) => e.ms)).toEqual([1]);
  });
});

describe('followEntries', () => {
  it('shows the last N, then new entries, across a day rollover', async () => {
    const dir = await tempDir();
    let t = Date.parse('2026-03-15T23:59:58.000Z');
    const w = new AuditWriter(dir, { now: () => t });
    for (let i = 0; i < 3; i++) await w.append(input({ ms: i }));

    const seen: AuditEntry[] = [];
    const ac = new AbortController();
    const done = followEntries(dir, { limit: 2, service: 'stripe', pollMs: 20 }, (e) => seen.push(e), ac.signal);
    await waitFor(() => seen.length === 2);
    expect(seen.map((e) => e.ms)).toEqual([1, 2]);

    await w.append(input({ ms: 3 }));
    await w.append(input({ ms: 99, service: 'github' })); // filtered out
    await waitFor(() => seen.length === 3);
    t = Date.parse('2026-03-16T00:00:01.000Z');
    await w.append(input({ ms: 4 })); // new day file
    await waitFor(() => seen.length === 4);
    t = Date.parse('2026-03-17T00:00:01.000Z');
    await w.append(input({ ms: 5 }));
    await w.append(input({ ms: 6 }));
    await waitFor(() => seen.length === 6);
    ac.abort();
    await done;
    expect(seen.map((e) => e.ms)).toEqual([1, 2, 3, 4, 5, 6]);
    await w.close();
  });

  it('starts on an empty directory and holds back partial lines', async () => {
    const dir = await tempDir();
    const seen: AuditEntry[] = [];
    const ac = new AbortController();
    const done = followEntries(dir, { pollMs: 20 }, (e) => seen.push(e), ac.signal);
    const w = new AuditWriter(dir);
    const e = await w.append(input({ ms: 7 }));
    await waitFor(() => seen.length === 1);
    const file = path.join(dir, (await fs.readdir(dir)).find((f) => f.endsWith('.jsonl')) as string);
    const line = (await fs.readFile(file, 'utf8')).trim();
    // A second copy of the line written in two pieces (not a valid chain; the follower is lenient).
    await fs.appendFile(file, line.slice(0, 30));
    await new Promise((r) => setTimeout(r, 80));
    expect(seen).toHaveLength(1);
    await fs.appendFile(file, `${line.slice(30)}\n`);
    await waitFor(() => seen.length === 2);
    expect(seen[1]).toEqual(e);
    ac.abort();
    await done;
    await w.close();
  });
});
