/**
 * What a person sees of `janee serve` outside the JSON-RPC channel: started in a
 * terminal it says an MCP client starts it; a broken config.yaml is reported on
 * the stderr an MCP client logs, not only inside tool results.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, initHome } from '../helpers/cli.js';
import { closeAllServes, startServe, textOf } from '../helpers/mcp.js';
import { hasPty, runUnderPty } from '../helpers/pty.js';

afterAll(closeAllServes);

describe('janee serve on stderr', () => {
  it('a broken config.yaml: the tool result and stderr both say where, stdout stays JSON-RPC', async () => {
    const env = await initHome();
    await fs.appendFile(path.join(env.JANEE_HOME, 'config.yaml'), 'services: [oops\n');
    const s = await startServe({ env });
    const r = await s.call('list_services');
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/config\.yaml:\d+/);
    await expect.poll(() => s.stderr(), { timeout: 5_000 }).toMatch(/janee: error: .*config\.yaml:\d+/);
    for (const line of s.stdout().split('\n').filter(Boolean)) expect(() => JSON.parse(line) as unknown).not.toThrow();
    await s.close();
  });

  it.skipIf(!hasPty())('in a terminal it says that an MCP client starts it', async () => {
    const env = await initHome();
    const r = await runUnderPty(['env', `JANEE_HOME=${env.JANEE_HOME}`, 'timeout', '3', process.execPath, CLI, 'serve'], [], {
      timeoutMs: 15_000,
    });
    expect(r.output).toContain('an MCP client starts it');
  });
});
