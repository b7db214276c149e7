/**
 * Red team on signed audit checkpoints (issue 8 part 5): cutting the log back to
 * an earlier signed point.
 *
 * An attacker who can write JANEE_HOME (not the state dir outside it) deletes the
 * newest entries, the checkpoints that signed them, and points `head` at the new
 * last entry. Before: verify said "ok, signed up to seq 10, 0 unsigned" — the
 * deletion was invisible, not even a warning. Dropping only the last checkpoint
 * (and rewriting the entries it covered) showed as an ordinary unsigned tail.
 * Now each checkpoint is also remembered outside JANEE_HOME (state dir, beside
 * the key pin), and verify on this machine holds the log to it.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditWriter, CHECKPOINT_FILE, HEAD_FILE, signerFromFileKey, verifyAudit } from '../../src/audit/index.js';
import { sealEntry, type AuditEntry } from '../../src/audit/record.js';
import { baseEnv, runJanee } from '../helpers/cli.js';
import { input, lines, tempDir, tempDirSync, writeLines } from './helpers.js';

// Pins and marks go to temp state dirs, never the user's ~/.local/state.
const STATE = tempDirSync();
process.env.XDG_STATE_HOME = STATE;
process.env.HOME = tempDirSync();
const OTHER_MACHINE = { ...process.env, HOME: tempDirSync(), XDG_STATE_HOME: tempDirSync() };

async function signedLog(n: number, every = 5): Promise<{ home: string; dir: string; file: string }> {
  const home = await tempDir();
  const dir = path.join(home, 'audit');
  const w = new AuditWriter(dir, { fsyncIntervalMs: 0 });
  w.setSigner(signerFromFileKey(randomBytes(32)));
  w.setPolicy({ checkpointEvery: every });
  for (let i = 0; i < n; i++) await w.append(input({ path: `/v1/charges/${i}` }));
  await w.close();
  const f = (await fs.readdir(dir)).find((x) => x.endsWith('.jsonl'))!;
  return { home, dir, file: path.join(dir, f) };
}

/** Keeps entries and checkpoints up to `seq` (re-chaining `rewrite`d ones after `from`), and fixes the head. */
async function cutBackTo(
  dir: string,
  file: string,
  seq: number,
  opts: { keepEntries?: boolean; rewriteFrom?: number } = {},
): Promise<void> {
  const kept: string[] = [];
  let prev = '0'.repeat(64);
  let last: AuditEntry | undefined;
  for (const l of await lines(file)) {
    const e = JSON.parse(l) as AuditEntry;
    if (e.seq > seq && !opts.keepEntries) break;
    if (opts.rewriteFrom !== undefined && e.seq >= opts.rewriteFrom) {
      const { ts, seq: s, prev: _p, hash: _h, ...rest } = e;
      const sealed = sealEntry({ ...rest, path: '/v1/innocent' }, ts, s, prev);
      kept.push(sealed.line.slice(0, -1));
      last = sealed.entry;
    } else {
      kept.push(l);
      last = e;
    }
    prev = last.hash;
  }
  await writeLines(file, kept);
  const cps = await lines(path.join(dir, CHECKPOINT_FILE));
  await writeLines(
    path.join(dir, CHECKPOINT_FILE),
    cps.filter((l) => (JSON.parse(l) as { seq: number }).seq <= seq),
  );
  await fs.writeFile(
    path.join(dir, HEAD_FILE),
    JSON.stringify({ seq: last!.seq, hash: last!.hash, file: path.basename(file) }).padEnd(255) + '\n',
  );
}

const messages = (v: { problems: { message: string }[] }): string => v.problems.map((p) => p.message).join('\n');

describe('red team: the log cut back to an earlier checkpoint', () => {
  it('deleting the newest entries with their checkpoints (head fixed) fails verify here; `janee logs verify` exits 1', async () => {
    const { home, dir, file } = await signedLog(12); // checkpoints at 5, 10, 12
    await cutBackTo(dir, file, 10);
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(messages(v)).toMatch(/signed up to seq 12 on this machine.*the log ends at seq 10: signed entries were deleted/);
    const r = await runJanee(['logs', 'verify'], {
      env: { ...baseEnv(), JANEE_HOME: home, XDG_STATE_HOME: STATE, HOME: process.env.HOME },
    });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    // A copy checked on another machine cannot know: as before.
    expect(await verifyAudit(dir, OTHER_MACHINE)).toMatchObject({ ok: true, unsigned: 0 });
  });

  it('deleting only the newest checkpoint (entries kept) is not an unsigned tail here', async () => {
    const { dir, file } = await signedLog(12);
    await cutBackTo(dir, file, 10, { keepEntries: true });
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(messages(v)).toMatch(/seq 12 was signed on this machine.*checkpoints were deleted/);
  });

  it('rewriting the entries after the newest kept checkpoint, that checkpoint dropped, fails', async () => {
    const { dir, file } = await signedLog(12);
    await cutBackTo(dir, file, 10, { keepEntries: true, rewriteFrom: 11 });
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(messages(v)).toMatch(/entry seq 12 differs from what was signed on this machine.*the log was rewritten/);
  });

  it('an honest log with an unsigned tail (a gate still running) still verifies', async () => {
    const home = await tempDir();
    const dir = path.join(home, 'audit');
    const w = new AuditWriter(dir, { fsyncIntervalMs: 0 });
    w.setSigner(signerFromFileKey(randomBytes(32)));
    w.setPolicy({ checkpointEvery: 5 });
    for (let i = 0; i < 7; i++) await w.append(input());
    const v = await verifyAudit(dir); // writer still open: 5 signed, 2 not
    expect(v).toMatchObject({ ok: true, unsigned: 2 });
    expect(v.signed?.seq).toBe(5);
    await w.close();
    expect(await verifyAudit(dir)).toMatchObject({ ok: true, unsigned: 0 });
  });
});
