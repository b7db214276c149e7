/**
 * An agent cannot flood the audit log: thousands of refused calls a second
 * through the real gate (real config, real vault, real audit dir) give a bounded
 * number of lines whose counts add up to the number of refusals, agent-chosen text
 * is capped, and the log still verifies, signed up to its end after close.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEntries, RefusalCoalescer, verifyAudit, type AuditEntry, type AuditInput } from '../../src/audit/index.js';
import { JaneeError } from '../../src/errors.js';
import { LocalGate } from '../../src/gate/gate.js';
import { VaultSecrets } from '../../src/gate/secrets.js';
import { createVaultFile, unlockVaultFile } from '../../src/vault/store.js';
import { gateWithVault } from '../helpers/gate.js';
import { input, tempDir, tempDirSync } from './helpers.js';

process.env.XDG_STATE_HOME = tempDirSync();

const PASSPHRASE = new TextEncoder().encode('flood test passphrase');

async function gateIn(home: string): Promise<{ gate: LocalGate; auditDir: string }> {
  const configFile = path.join(home, 'config.yaml');
  await fs.writeFile(
    configFile,
    [
      'services:',
      '  stripe:',
      '    baseUrl: http://127.0.0.1:9',
      '    auth: { type: bearer }',
      '    policies:',
      '      - { path: /v1/charges, methods: [GET] }',
      '',
    ].join('\n'),
  );
  const vaultFile = path.join(home, 'vault.janee');
  await createVaultFile(vaultFile, PASSPHRASE, 10);
  const unlocked = await unlockVaultFile(vaultFile, PASSPHRASE);
  const auditDir = path.join(home, 'audit');
  const gate = new LocalGate({
    configFile,
    auditDir,
    killswitchFile: path.join(home, 'killswitch'),
    secrets: new VaultSecrets(vaultFile, unlocked.fileKey, unlocked.data),
  });
  return { gate, auditDir };
}

const CALLER = { agent: 'flooder', agentSource: 'flag' } as const;

describe('refusal flood', () => {
  it('5000 refusals in a burst: bounded lines, counts add up, text capped, log verifies and is signed', async () => {
    const { gate, auditDir } = await gateIn(await tempDir());
    const N = 5000;
    const reason = 'x'.repeat(3000);
    const t0 = Date.now();
    let refused = 0;
    for (let i = 0; i < N; i += 100) {
      const batch = Array.from({ length: 100 }, (_, k) =>
        gate.execute({ service: 'stripe', method: 'POST', path: `/v1/charges/${i + k}/${'p'.repeat(2000)}`, reason }, CALLER),
      );
      for (const r of await Promise.allSettled(batch)) {
        expect(r.status).toBe('rejected');
        expect(((r as PromiseRejectedResult).reason as JaneeError).code).toBe('GATE_BLOCKED');
        refused++;
      }
    }
    // Unknown services are the agent's choice of name: they share one group.
    for (let i = 0; i < 1000; i++) await gate.execute({ service: `nope-${i}`, method: 'GET', path: '/' }, CALLER).catch(() => undefined);
    const seconds = (Date.now() - t0) / 1000;
    await gate.close(); // writes the pending summaries and signs the end

    const entries = await readEntries(auditDir);
    const blocked = entries.filter((e) => e.service === 'stripe');
    const unknown = entries.filter((e) => e.service.startsWith('nope-'));
    const total = (es: AuditEntry[]) => es.reduce((n, e) => n + (e.count ?? 1), 0);
    expect(refused).toBe(N);
    expect(total(blocked)).toBe(N);
    expect(total(unknown)).toBe(1000);
    // Per group: burst 500, then 2 a second plus one summary a second; per agent: 1000,
    // then 4 a second (generous slack for a slow machine).
    const secs = Math.ceil(seconds + 2);
    expect(blocked.length).toBeLessThanOrEqual(500 + secs * 3);
    expect(unknown.length).toBeLessThanOrEqual(500 + secs * 3);
    expect(entries.length).toBeLessThanOrEqual(1000 + secs * 6);
    expect(blocked.some((e) => (e.count ?? 0) > 1)).toBe(true);
    // Agent-chosen text is capped: no line is near the 3 KB it asked for.
    for (const e of blocked) {
      expect(e.reason === undefined || e.reason.length <= 256).toBe(true);
      expect(e.path.length).toBeLessThanOrEqual(512);
    }
    const full = blocked.find((e) => e.count === undefined) as AuditEntry;
    expect(full.reason).toBe(`${'x'.repeat(255)}…`);
    const summary = blocked.find((e) => e.count !== undefined) as AuditEntry;
    expect(summary).toMatchObject({ outcome: 'blocked', status: null, ms: 0 });
    expect(summary.reason).toBeUndefined();

    const v = await verifyAudit(auditDir);
    expect(v.problems).toEqual([]);
    expect(v.signed?.seq).toBe(v.last);
    expect(v.unsigned).toBe(0);
  });

  it('calls that reached the upstream are never coalesced, even when they fail: each is its own line', async () => {
    const home = await tempDir();
    const auditDir = path.join(home, 'audit');
    // Port 9 on loopback: the gate injects the key and sends; the connection is refused.
    const gate = await gateWithVault({
      home,
      services: { stripe: { baseUrl: 'http://127.0.0.1:9', auth: { type: 'bearer' } } },
      secrets: { stripe: 'sk_test_flood_0123456789abcdef' },
      origin: 'http://127.0.0.1:9',
    });
    const N = 700; // over the per-group and per-agent bursts
    for (let i = 0; i < N; i += 50) {
      const batch = Array.from({ length: 50 }, (_, k) =>
        gate.execute({ service: 'stripe', method: 'GET', path: `/v1/charges/${i + k}` }, CALLER),
      );
      for (const r of await Promise.allSettled(batch)) {
        expect(r.status).toBe('rejected');
        expect(((r as PromiseRejectedResult).reason as JaneeError).code).toBe('GATE_UPSTREAM_ERROR');
      }
    }
    await gate.close();
    const errors = (await readEntries(auditDir)).filter((e) => e.outcome === 'error');
    expect(errors).toHaveLength(N);
    expect(errors.every((e) => e.count === undefined)).toBe(true);
    expect(new Set(errors.map((e) => e.path)).size).toBe(N);
  });

  it('ordinary refusals (under the burst) are each written before the call returns', async () => {
    const { gate, auditDir } = await gateIn(await tempDir());
    for (let i = 0; i < 20; i++) {
      await expect(gate.execute({ service: 'stripe', method: 'DELETE', path: `/v1/charges/${i}` }, CALLER)).rejects.toMatchObject({
        code: 'GATE_BLOCKED',
      });
      const es = await readEntries(auditDir);
      expect(es).toHaveLength(i + 1);
      expect(es.at(-1)).toMatchObject({ path: `/v1/charges/${i}`, outcome: 'blocked' });
    }
    await gate.close();
  });
});

describe('RefusalCoalescer', () => {
  it('bounds an agent that spreads refusals over many groups, and loses no count', async () => {
    let t = 0;
    const written: AuditInput[] = [];
    const c = new RefusalCoalescer(async (i) => void written.push(i), { now: () => t });
    // 10 policy rules × 400 refusals at one instant: 1000 written in full (the agent's burst), the rest counted.
    for (let r = 0; r < 10; r++)
      for (let i = 0; i < 400; i++) await c.refuse(input({ outcome: 'blocked', rule: `rule ${r}`, status: null }), true);
    expect(written).toHaveLength(1000);
    t = 10_000; // 10 s later: 40 more agent tokens, at most 20 per group
    for (let r = 0; r < 10; r++)
      for (let i = 0; i < 10; i++) await c.refuse(input({ outcome: 'blocked', rule: `rule ${r}`, status: null }), true);
    expect(written.length).toBe(1040);
    await c.flush();
    expect(written.reduce((n, i) => n + (i.count ?? 1), 0)).toBe(4100);
    expect(written.filter((i) => i.count !== undefined)).toHaveLength(8); // the groups that had counted refusals
  });
});
