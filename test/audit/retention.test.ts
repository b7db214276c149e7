/**
 * Retention (config.yaml `audit.keepDays`): old day files are deleted, an anchor
 * with the last deleted entry is left, and the rest of the chain still verifies,
 * saying where it starts. A forged anchor fails.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ANCHOR_FILE, AuditWriter, signerFromFileKey, verifyAudit } from '../../src/audit/index.js';
import { loadConfig } from '../../src/config/load.js';
import { input, tempDir, tempDirSync } from './helpers.js';

process.env.XDG_STATE_HOME = tempDirSync();

const day = (d: string) => Date.parse(`${d}T12:00:00.000Z`);

/** Three entries on each of three days, by one writer with a moving clock. */
async function threeDays(signed: boolean): Promise<{ dir: string; w: AuditWriter; clock: { t: number } }> {
  const dir = path.join(await tempDir(), 'audit');
  const clock = { t: day('2026-01-01') };
  const w = new AuditWriter(dir, { fsyncIntervalMs: 0, now: () => clock.t });
  if (signed) w.setSigner(signerFromFileKey(randomBytes(32)));
  for (const d of ['2026-01-01', '2026-01-02', '2026-01-03']) {
    clock.t = day(d);
    for (let i = 0; i < 3; i++) await w.append(input({ path: `/${d}/${i}` }));
  }
  return { dir, w, clock };
}

const logFiles = async (dir: string) => (await fs.readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort();

describe('audit retention', () => {
  it('keepDays deletes old day files, leaves a signed anchor, and the rest verifies from there', async () => {
    const { dir, w } = await threeDays(true);
    w.setPolicy({ keepDays: 1 });
    await w.append(input({ path: '/after' }));
    await w.close();
    expect(await logFiles(dir)).toEqual(['2026-01-03.jsonl']);
    const anchor = JSON.parse(await fs.readFile(path.join(dir, ANCHOR_FILE), 'utf8')) as Record<string, unknown>;
    expect(anchor).toMatchObject({ seq: 6, file: '2026-01-02.jsonl' });
    expect(typeof anchor.sig).toBe('string');
    const v = await verifyAudit(dir);
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, entries: 4, first: 7, last: 10, anchor: { seq: 6, signed: true }, unsigned: 0, warnings: [] });
  });

  it('keepDays counts whole UTC days: keepDays 2 keeps yesterday', async () => {
    const { dir, w } = await threeDays(false);
    w.setPolicy({ keepDays: 2 });
    await w.append(input());
    await w.close();
    expect(await logFiles(dir)).toEqual(['2026-01-02.jsonl', '2026-01-03.jsonl']);
    const v = await verifyAudit(dir);
    expect(v).toMatchObject({ ok: true, first: 4, anchor: { seq: 3, signed: false } });
    expect(v.warnings.join('\n')).toMatch(/unsigned anchor/);
  });

  it('runs at day rollover too', async () => {
    const { dir, w, clock } = await threeDays(false);
    w.setPolicy({ keepDays: 3 });
    await w.append(input());
    expect(await logFiles(dir)).toHaveLength(3);
    clock.t = day('2026-01-04');
    await w.append(input()); // opens 2026-01-04: 01-01 is now past keepDays
    await w.append(input());
    await w.close();
    expect(await logFiles(dir)).toEqual(['2026-01-02.jsonl', '2026-01-03.jsonl', '2026-01-04.jsonl']);
    expect((await verifyAudit(dir)).ok).toBe(true);
  });

  it('a forged anchor (moved forward to hide more deleted entries) fails', async () => {
    const { dir, w } = await threeDays(true);
    w.setPolicy({ keepDays: 1 });
    await w.append(input());
    await w.close();
    // Delete three more entries' worth and move the anchor: its signature no longer matches.
    const file = path.join(dir, ANCHOR_FILE);
    const a = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    await fs.writeFile(file, JSON.stringify({ ...a, seq: 7 }) + '\n');
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.message).join('\n')).toMatch(/bad signature on anchor/);
  });

  it('config.yaml audit: is validated', async () => {
    const home = await tempDir();
    const f = path.join(home, 'config.yaml');
    await fs.writeFile(f, 'audit:\n  keepDays: 30\n  checkpointEvery: 50\n  checkpointSeconds: 10\nservices: {}\n');
    expect((await loadConfig(f)).audit).toEqual({ keepDays: 30, checkpointEvery: 50, checkpointSeconds: 10 });
    await fs.writeFile(f, 'audit:\n  keepDays: 0\n');
    await expect(loadConfig(f)).rejects.toMatchObject({ message: expect.stringMatching(/audit\.keepDays/) });
    await fs.writeFile(f, 'audit:\n  keepForever: true\n');
    await expect(loadConfig(f)).rejects.toMatchObject({ message: expect.stringMatching(/unknown key/) });
  });
});
