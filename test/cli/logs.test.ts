/** `janee logs` says why it printed nothing: an empty log, or filters that match nothing. */
import { afterAll, describe, expect, it } from 'vitest';
import { initHome, runJanee } from '../helpers/cli.js';
import { closeAllServes, startServe } from '../helpers/mcp.js';

afterAll(closeAllServes);

describe('janee logs with nothing to show', () => {
  it('an empty log, then filters that match nothing in a log that has entries', async () => {
    const env = await initHome();
    const empty = await runJanee(['logs'], { env });
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain('no audit entries yet');

    const s = await startServe({ env, args: ['--agent', 'tester'] });
    await s.execute({ service: 'nope', method: 'GET', path: '/x' }); // refused and audited
    await s.close();

    const all = await runJanee(['logs'], { env });
    expect(all.stdout).toContain('agent:tester');
    const none = await runJanee(['logs', '--service', 'stripe', '--agent', 'bob'], { env });
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('no audit entries match --service stripe --agent bob');
  });
});
