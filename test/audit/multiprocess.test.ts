import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FILE, readEntries, verifyAudit } from '../../src/audit/index.js';
import { tempDir, transpileAudit } from './helpers.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

describe('several processes appending to one directory', () => {
  it('4 processes × 200 appends form one chain, seq 1..800', async () => {
    const writerJs = await transpileAudit(await tempDir());
    const dir = path.join(await tempDir(), 'audit');
    const t0 = performance.now();
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        run(process.execPath, [path.join(here, 'child-append.mjs'), writerJs, dir, '200', `p${i}`], { timeout: 60_000 }),
      ),
    );
    console.log(`4 × 200 appends from 4 processes: ${Math.round(performance.now() - t0)} ms`);
    const seqsPerChild = results.map((r) => JSON.parse(r.stdout) as number[]);
    for (const seqs of seqsPerChild) {
      expect(seqs).toHaveLength(200);
      // Each process sees its own appends in increasing order.
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    }
    expect(seqsPerChild.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 800 }, (_, i) => i + 1));

    const entries = await readEntries(dir);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 800 }, (_, i) => i + 1));
    for (let i = 0; i < 4; i++) expect(entries.filter((e) => e.agent === `p${i}`)).toHaveLength(200);
    expect(await verifyAudit(dir)).toMatchObject({ ok: true, entries: 800, problems: [] });
  });

  it('4 signing processes (one vault key, as serves and the agent share) × 150: one chain, every checkpoint valid, signed to the end', async () => {
    process.env.XDG_STATE_HOME = await tempDir();
    const writerJs = await transpileAudit(await tempDir());
    const dir = path.join(await tempDir(), 'audit');
    const key = randomBytes(32).toString('hex');
    await Promise.all(
      [0, 1, 2, 3].map((i) =>
        run(process.execPath, [path.join(here, 'child-append.mjs'), writerJs, dir, '150', `p${i}`, key], {
          timeout: 60_000,
          env: process.env,
        }),
      ),
    );
    const v = await verifyAudit(dir);
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, entries: 600, last: 600, unsigned: 0, signed: { seq: 600 } });
    // Each process signed the chain head (others' entries included) under the lock.
    const cps = (await fs.readFile(path.join(dir, CHECKPOINT_FILE), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number });
    expect(cps.length).toBeGreaterThanOrEqual(4 * 6);
    expect(cps.map((c) => c.seq)).toEqual([...cps.map((c) => c.seq)].sort((a, b) => a - b));
  });
});
