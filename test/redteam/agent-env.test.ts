/**
 * Red team (seam between agent tokens, exec and the unlocked agent): the agent is the
 * parent of every program exec runs through it, and any such program can read the
 * agent's /proc/<pid>/environ. A JANEE_AGENT_TOKEN in the shell that ran `janee
 * unlock` (a broader token, say) must not live on in the agent's environment, where a
 * program run for a narrower token could read it. Real `janee unlock`, real /proc.
 */
import * as fs from 'node:fs/promises';
import { afterAll, expect, it } from 'vitest';
import { cleanupTempHomes, withEnv } from '../helpers/cli.js';
import { agentHome, killAllAgents, status, unlock } from '../agent/helpers.js';

afterAll(async () => {
  killAllAgents();
  await cleanupTempHomes();
});

it.skipIf(process.platform !== 'linux')(
  'the agent started by unlock carries no agent token in its environment',
  { timeout: 60_000 },
  async () => {
    const env = await agentHome();
    const token = `janee_at_${'x'.repeat(43)}`;
    expect((await unlock(withEnv(env, { JANEE_AGENT_TOKEN: token }))).code).toBe(0);
    const pid = (await status(env)).pid as number;
    const environ = await fs.readFile(`/proc/${pid}/environ`, 'latin1');
    expect(environ).toContain('JANEE_HOME='); // we did read the agent's environment
    expect(environ).not.toContain(token);
    expect(environ).not.toContain('JANEE_AGENT_TOKEN=');
  },
);
