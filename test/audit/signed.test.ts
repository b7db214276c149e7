/**
 * Signed checkpoints: a rewritten and re-chained log fails verify; entries after
 * the last checkpoint are reported as not signed (not trusted, not a failure);
 * a swapped key file fails where the key is pinned; deleted checkpoints and
 * deleted signed entries fail. The CLI (`janee logs verify`) is driven for real.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditWriter, CHECKPOINT_FILE, HEAD_FILE, KEYS_FILE, pinFiles, signerFromFileKey, verifyAudit } from '../../src/audit/index.js';
import { sealEntry, type AuditEntry } from '../../src/audit/record.js';
import { makeCheckpoint } from '../../src/audit/signing.js';
import { baseEnv, runJanee } from '../helpers/cli.js';
import { input, lines, tempDir, writeLines, tempDirSync } from './helpers.js';

// Pins go to a temp state dir, never the user's ~/.local/state.
const STATE = tempDirSync();
process.env.XDG_STATE_HOME = STATE;
const OTHER_MACHINE = { ...process.env, HOME: tempDirSync(), XDG_STATE_HOME: tempDirSync() };

/** A JANEE_HOME whose audit dir has `n` entries written by a signing gate (closed: signed at shutdown). */
async function signedLog(n: number, every = 5): Promise<{ home: string; dir: string }> {
  const home = await tempDir();
  const dir = path.join(home, 'audit');
  const w = new AuditWriter(dir, { fsyncIntervalMs: 0 });
  w.setSigner(signerFromFileKey(randomBytes(32)));
  w.setPolicy({ checkpointEvery: every });
  for (let i = 0; i < n; i++) await w.append(input({ path: `/v1/charges/${i}` }));
  await w.close();
  return { home, dir };
}

async function dayFile(dir: string): Promise<string> {
  const f = (await fs.readdir(dir)).find((n) => n.endsWith('.jsonl'));
  return path.join(dir, f as string);
}

/** What an attacker with write access does: edit entries, recompute every hash and the head. */
async function rewriteAndRechain(dir: string, edit: (e: AuditEntry) => AuditEntry): Promise<AuditEntry[]> {
  const file = await dayFile(dir);
  const out: string[] = [];
  const entries: AuditEntry[] = [];
  let prev = '0'.repeat(64);
  for (const l of await lines(file)) {
    const { ts, seq, prev: _p, hash: _h, ...rest } = edit(JSON.parse(l) as AuditEntry);
    const { entry, line } = sealEntry(rest, ts, seq, prev);
    out.push(line.slice(0, -1));
    entries.push(entry);
    prev = entry.hash;
  }
  await writeLines(file, out);
  const last = entries.at(-1) as AuditEntry;
  await fs.writeFile(
    path.join(dir, HEAD_FILE),
    JSON.stringify({ seq: last.seq, hash: last.hash, file: path.basename(file) }).padEnd(255) + '\n',
  );
  return entries;
}

const janeeEnv = (home: string) => ({ ...baseEnv(), JANEE_HOME: home, XDG_STATE_HOME: STATE });

describe('signed audit checkpoints', () => {
  it('an intact log is signed up to its last entry; the key is published beside the log and pinned outside it', async () => {
    const { dir } = await signedLog(12);
    const v = await verifyAudit(dir);
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, entries: 12, unsigned: 0, warnings: [] });
    expect(v.signed?.seq).toBe(12);
    // every 5 entries, and at shutdown
    expect((await lines(path.join(dir, CHECKPOINT_FILE))).map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([5, 10, 12]);
    expect(await fs.readFile(path.join(dir, KEYS_FILE), 'utf8')).toBe(await fs.readFile(pinFiles(dir)[0]!, 'utf8'));
    expect(pinFiles(dir)[0]!.startsWith(STATE)).toBe(true);
  });

  it('a rewritten and re-chained log (head too) fails verify, and `janee logs verify` exits 1', async () => {
    const { home, dir } = await signedLog(12);
    await rewriteAndRechain(dir, (e) => (e.seq === 3 ? { ...e, path: '/v1/innocent' } : e));
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.message).join('\n')).toMatch(
      /differs from what checkpoint checkpoints:\d+ signed: the log was rewritten/,
    );
    const r = await runJanee(['logs', 'verify'], { env: janeeEnv(home) });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/AUDIT_TAMPERED|not intact/);
  });

  it('deleting the newest signed entries (and fixing the head) fails', async () => {
    const { dir } = await signedLog(12);
    const file = await dayFile(dir);
    const ls = await lines(file);
    await writeLines(file, ls.slice(0, 9));
    const last = JSON.parse(ls[8] as string) as AuditEntry;
    await fs.writeFile(path.join(dir, HEAD_FILE), JSON.stringify({ seq: last.seq, hash: last.hash }).padEnd(255) + '\n');
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.message)).toContain('signs seq 10 but the log ends at seq 9: signed entries were deleted');
  });

  it('a tail appended after the last checkpoint is reported as not signed (exit 0 with a warning; 1 with --require-signed)', async () => {
    const { home, dir } = await signedLog(12);
    // A locked gate (no key) appends three more.
    const w = new AuditWriter(dir, { fsyncIntervalMs: 0 });
    for (let i = 0; i < 3; i++) await w.append(input({ outcome: 'locked', status: null, rule: 'GATE_LOCKED' }));
    await w.close();
    const v = await verifyAudit(dir);
    expect(v).toMatchObject({ ok: true, entries: 15, unsigned: 3, signed: { seq: 12 } });

    const r = await runJanee(['logs', 'verify'], { env: janeeEnv(home) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/signed up to seq 12 \(/);
    expect(r.stderr).toMatch(/warning: 3 entries after it are not signed/);
    const j = await runJanee(['logs', 'verify', '--json'], { env: janeeEnv(home) });
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, unsigned: 3, signed: { seq: 12 } });
    const strict = await runJanee(['logs', 'verify', '--require-signed'], { env: janeeEnv(home) });
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/error: 3 entries after it are not signed/);
  });

  it('re-signing with a key of the attacker (signing-keys replaced) fails where the real key is pinned; elsewhere it warns', async () => {
    const { dir } = await signedLog(12);
    const entries = await rewriteAndRechain(dir, (e) => (e.seq === 3 ? { ...e, path: '/v1/innocent' } : e));
    const evil = signerFromFileKey(randomBytes(32));
    const ts = new Date().toISOString();
    const cps = [5, 10, 12].map((s) => makeCheckpoint('checkpoint', evil, s, (entries[s - 1] as AuditEntry).hash, ts));
    await writeLines(
      path.join(dir, CHECKPOINT_FILE),
      cps.map((c) => JSON.stringify(c)),
    );
    await writeLines(path.join(dir, KEYS_FILE), [JSON.stringify({ id: evil.id, publicKey: evil.publicKey, added: ts })]);

    const here = await verifyAudit(dir);
    expect(here.ok).toBe(false);
    expect(here.problems[0]?.message).toMatch(/not pinned on this machine .*the key file was changed/);
    // A copy of the log checked on a machine with no pin: the chain and signatures hold, and it says it cannot tell.
    const elsewhere = await verifyAudit(dir, OTHER_MACHINE);
    expect(elsewhere.ok).toBe(true);
    expect(elsewhere.warnings.join('\n')).toMatch(/not pinned on this machine/);
  });

  it('deleting the checkpoints file is reported when this machine has the key pinned', async () => {
    const { dir } = await signedLog(12);
    await fs.rm(path.join(dir, CHECKPOINT_FILE));
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.message).join('\n')).toMatch(/checkpoints were deleted/);
  });

  it('an edited checkpoint (seq moved) has a bad signature', async () => {
    const { dir } = await signedLog(12);
    const file = path.join(dir, CHECKPOINT_FILE);
    const ls = await lines(file);
    const c = JSON.parse(ls[0] as string) as { seq: number };
    c.seq = 6;
    await writeLines(file, [JSON.stringify(c), ...ls.slice(1)]);
    const v = await verifyAudit(dir);
    expect(v.ok).toBe(false);
    expect(v.problems.map((p) => p.message)).toContain('bad signature on checkpoint for seq 6: the checkpoint was forged or edited');
  });
});

describe('a checkpoint that cannot be written', () => {
  it('does not fail the appends whose lines are already in the log; they are signed once it can be written', async () => {
    const dir = path.join(await tempDir(), 'audit');
    const blocked = await tempDir();
    await fs.writeFile(path.join(blocked, 'state'), 'a file where the state directory should be');
    const saved = { HOME: process.env.HOME, XDG_STATE_HOME: process.env.XDG_STATE_HOME };
    process.env.XDG_STATE_HOME = path.join(blocked, 'state'); // mkdir under a file: ENOTDIR, even as root
    process.env.HOME = path.join(blocked, 'state');
    const w = new AuditWriter(dir, { fsyncIntervalMs: 0 });
    w.setSigner(signerFromFileKey(randomBytes(32)));
    w.setPolicy({ checkpointEvery: 3 });
    try {
      for (let i = 0; i < 7; i++) await w.append(input({ path: `/v1/charges/${i}` }));
      expect((await lines(await dayFile(dir))).length).toBe(7);
    } finally {
      process.env.XDG_STATE_HOME = saved.XDG_STATE_HOME;
      process.env.HOME = saved.HOME;
    }
    await w.append(input({ path: '/v1/charges/7' })); // the state directory works again
    await w.close();
    const r = await verifyAudit(dir);
    expect(r).toMatchObject({ ok: true, entries: 8 });
    expect(r.signed?.seq).toBe(8);
  });
});
