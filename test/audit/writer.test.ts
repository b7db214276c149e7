import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import { withLock } from '../../src/util/fsutil.js';
import {
  AuditWriter,
  GENESIS_HASH,
  canonicalText,
  parseLine,
  readEntries,
  sha256Hex,
  verifyAudit,
  type AuditEntry,
  type AuditInput,
} from '../../src/audit/index.js';
import { input, lines, tempDir } from './helpers.js';

const writers: AuditWriter[] = [];
function writer(dir: string, opts: ConstructorParameters<typeof AuditWriter>[1] = {}): AuditWriter {
  const w = new AuditWriter(dir, opts);
  writers.push(w);
  return w;
}
afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.close().catch(() => undefined)));
});

/** A settable clock starting at 2026-03-15T10:23:45.123Z. */
function clock(start = Date.parse('2026-03-15T10:23:45.123Z')): { now: () => number; set: (iso: string) => void; t: number } {
  const c = {
    t: start,
    now: () => c.t,
    set: (iso: string) => {
      c.t = Date.parse(iso);
    },
  };
  return c;
}

describe('AuditWriter', () => {
  it('writes a hash chain in the documented format', async () => {
    const dir = path.join(await tempDir(), 'audit');
    const c = clock();
    const w = writer(dir, { now: c.now });
    const a = await w.append(input({ reason: 'list charges', rule: 'GET /v1/charges' }));
    c.t += 1000;
    const b = await w.append(input({ method: 'POST', outcome: 'blocked', status: null, ms: 3 }));
    await w.flush();

    expect(a.seq).toBe(1);
    expect(a.prev).toBe(GENESIS_HASH);
    expect(b.seq).toBe(2);
    expect(b.prev).toBe(a.hash);
    expect(a.ts).toBe('2026-03-15T10:23:45.123Z');

    const file = path.join(dir, '2026-03-15.jsonl');
    const ls = await lines(file);
    expect(ls).toHaveLength(2);
    // Field order and exact text.
    expect(ls[0]).toBe(
      '{"ts":"2026-03-15T10:23:45.123Z","agent":"claude","agentSource":"flag","service":"stripe","method":"GET",' +
        '"path":"/v1/charges","outcome":"allowed","status":200,"ms":142,"reason":"list charges","rule":"GET /v1/charges",' +
        `"seq":1,"prev":"${GENESIS_HASH}","hash":"${a.hash}"}`,
    );
    // hash = sha256 of the line without the hash field.
    const unhashed = (ls[0] as string).replace(/,"hash":"[0-9a-f]{64}"\}$/, '}');
    expect(sha256Hex(unhashed)).toBe(a.hash);
    const { hash: _h, ...rest } = a;
    expect(canonicalText(rest)).toBe(unhashed);
    expect(JSON.parse(ls[1] as string)).toEqual(b);
    expect(Object.keys(JSON.parse(ls[1] as string))).toEqual([
      'ts',
      'agent',
      'agentSource',
      'service',
      'method',
      'path',
      'outcome',
      'status',
      'ms',
      'seq',
      'prev',
      'hash',
    ]);
    for (const l of ls) {
      const p = parseLine(l);
      expect(p.kind === 'entry' && p.hashOk && p.canonical).toBe(true);
    }

    expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await verifyAudit(dir)).toMatchObject({ ok: true, entries: 2, problems: [] });
  });

  it('continues the chain across writer instances and keeps the head file', async () => {
    const dir = await tempDir();
    const w1 = writer(dir);
    for (let i = 0; i < 5; i++) await w1.append(input());
    await w1.close();
    const w2 = writer(dir);
    const e = await w2.append(input());
    expect(e.seq).toBe(6);
    const head = JSON.parse(await fs.readFile(path.join(dir, 'head'), 'utf8'));
    expect(head).toMatchObject({ seq: 6, hash: e.hash });
    expect((await verifyAudit(dir)).ok).toBe(true);
  });

  it('keeps its lock candidate while open (one link(2) per batch) and leaves no lock file after close', async () => {
    const dir = await tempDir();
    const w = writer(dir);
    await w.append(input());
    const candidate = `.audit.lock.${process.pid}`;
    expect(await fs.readdir(dir)).toContain(candidate);
    expect(await fs.readdir(dir)).not.toContain('audit.lock');
    await w.close();
    expect((await fs.readdir(dir)).filter((f) => f.includes('audit.lock'))).toEqual([]);
  });

  it('orders concurrent appends in one process without interleaving', async () => {
    const dir = await tempDir();
    const w = writer(dir);
    const reasons = Array.from({ length: 300 }, (_, i) => `r${i}-${'x'.repeat(i % 200)}`);
    const entries = await Promise.all(reasons.map((reason) => w.append(input({ reason }))));
    expect(entries.map((e) => e.seq)).toEqual(reasons.map((_, i) => i + 1));
    expect(entries.map((e) => e.reason)).toEqual(reasons);
    const read = await readEntries(dir);
    expect(read.map((e) => e.reason)).toEqual(reasons);
    expect(await verifyAudit(dir)).toMatchObject({ ok: true, entries: 300 });
  });

  it('batches appends marked soon at the check phase, in call order, and flush or close waits for them', async () => {
    const dir = await tempDir();
    const w = writer(dir);
    const first = Array.from({ length: 20 }, (_, i) => w.append(input({ reason: `a${i}` }), { soon: true }));
    await Promise.resolve(); // a later microtask of the same turn joins the batch
    const second = Array.from({ length: 20 }, (_, i) => w.append(input({ reason: `b${i}` }), { soon: i % 2 === 0 }));
    await w.flush();
    const entries = await Promise.all([...first, ...second]);
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    expect((await readEntries(dir)).map((e) => e.reason)).toEqual(entries.map((e) => e.reason));
    const late = w.append(input({ reason: 'last' }), { soon: true });
    await w.close();
    expect((await late).seq).toBe(41);
    expect(await verifyAudit(dir)).toMatchObject({ ok: true, entries: 41 });
  });

  it('notices entries written by another writer on the same directory', async () => {
    const dir = await tempDir();
    const a = writer(dir);
    const b = writer(dir);
    const seqs: number[] = [];
    for (let i = 0; i < 20; i++) seqs.push((await (i % 3 === 0 ? b : a).append(input({ agent: `w${i % 3}` }))).seq);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await verifyAudit(dir)).toMatchObject({ ok: true, entries: 20 });
  });

  it('rolls over to a new UTC day file, chaining to the previous day', async () => {
    const dir = await tempDir();
    const c = clock(Date.parse('2026-03-15T23:59:59.998Z'));
    const w = writer(dir, { now: c.now });
    const a = await w.append(input());
    c.set('2026-03-16T00:00:00.001Z');
    const b = await w.append(input());
    c.set('2026-03-18T08:00:00.000Z');
    // Two appends queued together straddle nothing, but a fresh writer must find the tail in the newest file.
    const w2 = writer(dir, { now: c.now });
    const d = await w2.append(input());
    // Clock steps back: the entry still goes into the newest file.
    c.set('2026-03-17T12:00:00.000Z');
    const e = await w2.append(input());

    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort()).toEqual([
      '2026-03-15.jsonl',
      '2026-03-16.jsonl',
      '2026-03-18.jsonl',
    ]);
    expect(b.prev).toBe(a.hash);
    expect(b.ts).toBe('2026-03-16T00:00:00.001Z');
    expect(d.prev).toBe(b.hash);
    expect(d.seq).toBe(3);
    expect(e.seq).toBe(4);
    expect(e.ts).toBe('2026-03-17T12:00:00.000Z');
    expect(await lines(path.join(dir, '2026-03-18.jsonl'))).toHaveLength(2);
    expect(await verifyAudit(dir)).toMatchObject({ ok: true, entries: 4 });
  });

  it('splits one batch across a midnight', async () => {
    const dir = await tempDir();
    let t = Date.parse('2026-03-15T23:59:59.999Z');
    const w = writer(dir, { now: () => t++ });
    const es = await Promise.all([w.append(input()), w.append(input()), w.append(input())]);
    expect(es.map((e) => e.ts.slice(0, 10))).toContain('2026-03-16');
    expect(await verifyAudit(dir)).toMatchObject({ ok: true, entries: 3 });
  });

  it('never writes query strings, unknown fields, or over-long values', async () => {
    const dir = await tempDir();
    const w = writer(dir);
    const e = await w.append(input({ path: '/v1/charges?api_key=sk_live_secret#frag', reason: 'r'.repeat(600) }));
    expect(e.path).toBe('/v1/charges');
    // Agent-chosen text is capped, and the cut is marked.
    expect(e.reason).toBe(`${'r'.repeat(255)}…`);
    const long = await w.append(
      input({ agent: 'a'.repeat(5000), path: `/${'p'.repeat(5000)}`, service: 's'.repeat(5000), method: 'M'.repeat(100) }),
    );
    expect([long.agent.length, long.path.length, long.service.length, long.method.length]).toEqual([128, 512, 128, 32]);
    expect(long.path.endsWith('…')).toBe(true);
    const text = await fs.readFile(path.join(dir, (await fs.readdir(dir)).find((f) => f.endsWith('.jsonl')) as string), 'utf8');
    expect(text).not.toContain('sk_live_secret');

    const extra = { ...input(), body: 'secret body', headers: { authorization: 'Bearer x' } } as unknown as AuditInput;
    await expect(w.append(extra)).rejects.toMatchObject({ code: 'AUDIT_BAD_INPUT' });
    await expect(w.append(input({ outcome: 'maybe' as never }))).rejects.toMatchObject({ code: 'AUDIT_BAD_INPUT' });
    await expect(w.append(input({ ms: Number.NaN }))).rejects.toMatchObject({ code: 'AUDIT_BAD_INPUT' });
    // Surrogate pairs are not split by truncation.
    const e2 = await w.append(input({ reason: `${'a'.repeat(254)}😀😀` }));
    expect(e2.reason).toBe(`${'a'.repeat(254)}…`);
    expect((await verifyAudit(dir)).ok).toBe(true);
  });

  it('fails closed with AUDIT_WRITE_FAILED on I/O errors, and recovers once fixed', async () => {
    const dir = await tempDir();
    const c = clock();
    const w = writer(dir, { now: c.now });
    await w.append(input());
    // Tomorrow's file cannot be created: a directory is in its way.
    c.set('2026-03-16T00:00:01.000Z');
    await fs.mkdir(path.join(dir, '2026-03-16.jsonl'));
    const err = await w.append(input()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JaneeError);
    expect(err).toMatchObject({ code: 'AUDIT_WRITE_FAILED' });
    expect((err as JaneeError).hint).toBeTruthy();
    await fs.rmdir(path.join(dir, '2026-03-16.jsonl'));
    const e = await w.append(input());
    expect(e.seq).toBe(2);
    expect((await verifyAudit(dir)).ok).toBe(true);

    // An audit dir that cannot exist at all.
    const file = path.join(dir, 'not-a-dir');
    await fs.writeFile(file, '');
    await expect(writer(path.join(file, 'audit')).append(input())).rejects.toMatchObject({ code: 'AUDIT_WRITE_FAILED' });
  });

  it('rejects appends after close', async () => {
    const dir = await tempDir();
    const w = writer(dir);
    await w.append(input());
    await w.close();
    await expect(w.append(input())).rejects.toMatchObject({ code: 'AUDIT_WRITE_FAILED' });
  });

  it('continues after a partial last line, and verify reports only the fragment', async () => {
    const dir = await tempDir();
    const c = clock();
    const w = writer(dir, { now: c.now });
    for (let i = 0; i < 3; i++) await w.append(input());
    await w.close();
    const file = path.join(dir, '2026-03-15.jsonl');
    // A crash mid-write: half a line, no newline.
    await fs.appendFile(file, '{"ts":"2026-03-15T10:23:46.000Z","agent":"cla');
    const before = await verifyAudit(dir);
    expect(before.ok).toBe(false);
    expect(before.problems).toEqual([
      { file: '2026-03-15.jsonl', line: 4, message: expect.stringMatching(/truncated/) },
      expect.objectContaining({ line: 4 }),
    ]);

    const w2 = writer(dir, { now: c.now });
    const e = await w2.append(input());
    expect(e.seq).toBe(4);
    const ls = await lines(file);
    expect(ls).toHaveLength(5);
    expect(ls[3]).toBe('{"ts":"2026-03-15T10:23:46.000Z","agent":"cla');
    const after = await verifyAudit(dir);
    expect(after.entries).toBe(4);
    expect(after.problems).toHaveLength(1);
    expect(after.problems[0]).toMatchObject({ file: '2026-03-15.jsonl', line: 4 });
    expect(after.problems[0]?.message).toMatch(/garbage/);
  });

  it('handles a partial line left by another process that then crashed', async () => {
    const dir = await tempDir();
    const c = clock();
    const a = writer(dir, { now: c.now });
    const b = writer(dir, { now: c.now });
    await a.append(input());
    await b.append(input()); // a's cached size is now stale: it reads b's bytes
    const file = path.join(dir, '2026-03-15.jsonl');
    await fs.appendFile(file, '{"ts":"2026-03-15T10:2');
    const e = await a.append(input());
    expect(e.seq).toBe(3);
    await fs.appendFile(file, 'garbage without newline');
    const f = await a.append(input());
    expect(f.seq).toBe(4);
    expect(f.prev).toBe(e.hash);
    const r = await verifyAudit(dir);
    expect(r.entries).toBe(4);
    expect(r.problems.map((p) => p.line)).toEqual([3, 5]);
  });

  it('with fsyncIntervalMs 0 still appends correctly', async () => {
    const dir = await tempDir();
    const w = writer(dir, { fsyncIntervalMs: 0 });
    for (let i = 0; i < 10; i++) await w.append(input());
    expect((await verifyAudit(dir)).entries).toBe(10);
  });

  it('append rate (informational)', async () => {
    const dir = await tempDir();
    const w = writer(dir);
    for (let i = 0; i < 50; i++) await w.append(input()); // warm up
    const n = 2000;
    let t0 = performance.now();
    for (let i = 0; i < n; i++) await w.append(input({ reason: 'checking the balance before a refund' }));
    const seqMs = (performance.now() - t0) / n;
    t0 = performance.now();
    const all: Promise<AuditEntry>[] = [];
    for (let i = 0; i < n; i++) all.push(w.append(input()));
    await Promise.all(all);
    const concMs = (performance.now() - t0) / n;
    await w.flush();
    // For comparison: the lock alone (withLock with an empty body).
    const lockTarget = path.join(dir, 'bench');
    t0 = performance.now();
    for (let i = 0; i < 500; i++) await withLock(lockTarget, async () => undefined);
    const lockMs = (performance.now() - t0) / 500;
    console.log(
      `audit append: sequential ${(seqMs * 1000).toFixed(0)} µs/entry (${Math.round(1000 / seqMs)}/s; ` +
        `withLock alone ${(lockMs * 1000).toFixed(0)} µs), ` +
        `concurrent ${(concMs * 1000).toFixed(1)} µs/entry (${Math.round(1000 / concMs)}/s)`,
    );
    expect(seqMs).toBeLessThan(20); // only catches pathologies (e.g. an fsync per append)
    expect((await verifyAudit(dir)).entries).toBe(2 * n + 50);
  });
});
