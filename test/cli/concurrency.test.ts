/**
 * Concurrent writers must not lose each other's changes: ten separate `janee add`
 * processes against one home all land, in config.yaml and in the vault, and no lock
 * or temp file is left behind. Then ten concurrent removes.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, leftovers, listFiles, runJanee, type RunResult } from '../helpers/cli.js';

afterAll(cleanupTempHomes);

const N = 10;
const names = Array.from({ length: N }, (_, i) => `s${i}`);

/**
 * The processes are started without the per-file limit on parallel CLI runs, so all
 * ten really do race for the locks at the same time.
 */
function runAll(fn: (name: string) => Promise<RunResult>): Promise<RunResult[]> {
  return Promise.all(names.map(fn));
}

describe('ten processes writing one home at once', () => {
  it('janee add s0..s9 at the same time: all ten services and secrets land', { timeout: 120_000 }, async () => {
    const env = await initHome();
    const added = await runAll((name) =>
      runJanee(['add', name, '--base-url', `https://${name}.example.com`, '--key-stdin', '--policy', 'GET /v1'], {
        env,
        input: `sk_test_${name}_secret\n`,
        timeoutMs: 60_000,
        unlimited: true,
      }),
    );
    for (const r of added) {
      expect(r.timedOut).toBe(false);
      expect(r.stderr).not.toMatch(/janee: error/);
      expect(r.code, r.stderr).toBe(0);
    }

    const list = await runJanee(['list', '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    const services = (JSON.parse(list.stdout) as { services: { name: string; secret: boolean; baseUrl: string }[] }).services;
    expect(services.map((s) => s.name).sort()).toEqual([...names].sort());
    for (const s of services) {
      expect(s.secret).toBe(true);
      expect(s.baseUrl).toBe(`https://${s.name}.example.com`);
    }

    const config = await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8');
    for (const n of names) expect(config).toMatch(new RegExp(`^ {2}${n}:\\n {4}baseUrl: https://${n}\\.example\\.com$`, 'm'));
    const files = await listFiles(env.JANEE_HOME);
    expect(leftovers(files)).toEqual([]);
    expect(files).toEqual(['config.yaml', 'config.yaml.bak', 'vault.janee', 'vault.janee.bak']);

    const removed = await runAll((name) => runJanee(['remove', name], { env, timeoutMs: 60_000, unlimited: true }));
    for (const r of removed) expect(r.code, r.stderr).toBe(0);
    const after = await runJanee(['list', '--json'], { env });
    expect(JSON.parse(after.stdout)).toEqual({ services: [], vault: 'read' });
    expect(await fs.readFile(path.join(env.JANEE_HOME, 'config.yaml'), 'utf8')).not.toMatch(/^ {2}s\d:/m);
    expect(leftovers(await listFiles(env.JANEE_HOME))).toEqual([]);
  });
});
