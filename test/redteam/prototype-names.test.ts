/**
 * Red team (fourth pass): service names that are also members of Object.prototype.
 * `constructor`, `toString` and `hasOwnProperty` are valid service names (letters only);
 * a config.yaml that names one without a secret in the vault must get the ordinary
 * "no secret" answer, not a lookup that finds Object.prototype's function and fails
 * inside the gate ("internal error … this is a bug in janee"). The BUILT `janee serve`
 * over stdio with the SDK client, a real loopback upstream that must see nothing.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addBearer, cleanupTempHomes, initHome, type JaneeEnv } from '../helpers/cli.js';
import { closeAllServes, startServe, textOf } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const NAMES = ['constructor', 'toString', 'hasOwnProperty'];
let up: Upstream;
let env: JaneeEnv;

beforeAll(async () => {
  up = await startUpstream();
  env = await initHome();
  await addBearer(env, 'ok', up.url, 'sk_test_0123456789abcdefghij');
  // Edited in by hand (or by someone else): services with no secret in the vault.
  const extra = NAMES.flatMap((n) => [`  ${n}:`, `    baseUrl: ${up.url}`, '    auth: { type: bearer }']).join('\n');
  await fs.appendFile(path.join(env.JANEE_HOME, 'config.yaml'), `${extra}\n`);
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  await up?.close();
  await cleanupTempHomes();
});

it(
  'a service named like an Object.prototype member, without a secret, is "no secret", not an internal error',
  { timeout: 60_000 },
  async () => {
    const s = await startServe({ env, args: ['--agent', 'rt4'] });
    for (const name of NAMES) {
      const r = await s.execute({ service: name, method: 'GET', path: '/x' });
      expect(r.isError, name).toBe(true);
      expect(r._meta?.['dev.janee/error'], `${name}: ${textOf(r)}`).toEqual({ code: 'GATE_NO_SECRET' });
      expect(textOf(r)).toMatch(new RegExp(`no secret for ${name}`));
    }
    await s.close();
    expect(up.requests).toHaveLength(0);
  },
);
