/**
 * Red team (exec argument patterns): a deny must hold against every spelling the
 * program reads the same way. The BUILT `janee serve` over stdio (official SDK
 * client) runs a real program that records the arguments it got; a refused call
 * must leave no record.
 *
 * Before the fix two denies a human would write were dodged:
 *   - `--upload-pack=*`: arguments are split at `=` before matching, the pattern
 *     word was not, so the very spelling the deny names (`--upload-pack=x`) ran;
 *   - `-X DELETE`: `-XDELETE` (value attached, as getopt and curl read it) ran.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, runJanee, scratchDir, type JaneeEnv } from '../helpers/cli.js';
import { appendCommands, writeScript } from '../helpers/exec.js';
import { closeAllServes, startServe, textOf, type ServeSession } from '../helpers/mcp.js';

let env: JaneeEnv;
let record: string;
let s: ServeSession;

beforeAll(async () => {
  env = await initHome();
  const r = await runJanee(['add', 'api', '--base-url', 'https://api.example.com', '--auth', 'bearer', '--key-stdin'], {
    env,
    input: 'sk_test_deny_spellings_7f3a9c21e5b8\n',
  });
  expect(r.code, r.stderr).toBe(0);
  record = path.join(scratchDir(env), 'ran');
  // Records its arguments, one per line, then exits 0.
  const prog = await writeScript(path.join(scratchDir(env), 'bin'), 'tool', `printf '%s\\n' "$@" >> ${record}\n`);
  await appendCommands(env.JANEE_HOME, [
    '  tool:',
    `    program: ${prog}`,
    '    env: { TOOL_TOKEN: api }',
    '    allow: ["**"]',
    '    deny: ["** --upload-pack=* **", "** -X DELETE **", "** --hostname=evil.example **"]',
  ]);
  const b = await runJanee(['bind', 'api', 'exec:tool'], { env });
  expect(b.code, b.stderr).toBe(0);
  s = await startServe({ env, args: ['--agent', 'rt5a'] });
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  await cleanupTempHomes();
});

async function ran(): Promise<string> {
  return fs.readFile(record, 'utf8').catch(() => '');
}

describe('a deny holds against the spellings the program reads the same way', { timeout: 60_000 }, () => {
  it.each([
    ['the spelling the deny names (--upload-pack=x)', ['fetch', '--upload-pack=touch /tmp/x', 'origin']],
    ['the value as a separate argument (--upload-pack x)', ['fetch', '--upload-pack', 'touch /tmp/x', 'origin']],
    ['an abbreviation with = (--upload-pa=x)', ['fetch', '--upload-pa=touch /tmp/x', 'origin']],
    ['a short option with its value attached (-XDELETE)', ['-XDELETE', 'https://api.example.com/v1/x']],
    ['a short option clustered, value attached (-sXDELETE)', ['-sXDELETE', 'https://api.example.com/v1/x']],
    ['a short option with = (-X=DELETE)', ['-X=DELETE', 'https://api.example.com/v1/x']],
    ['the value after the option (-X DELETE)', ['-X', 'DELETE', 'https://api.example.com/v1/x']],
    ['a deny written --name=value, sent as --name value', ['--hostname', 'evil.example', 'api']],
    ['a deny written --name=value, abbreviated (--host=evil.example)', ['--host=evil.example', 'api']],
  ])('%s is refused and nothing runs', async (_what, args) => {
    await fs.rm(record, { force: true });
    const r = await s.call('exec', { command: 'tool', args });
    expect(r.isError, textOf(r)).toBe(true);
    expect(textOf(r)).toMatch(/match the deny pattern/);
    expect(await ran()).toBe('');
  });

  it('what the denies do not name still runs (-XGET, --hostname=api.example.com, --upload-pack absent)', async () => {
    await fs.rm(record, { force: true });
    for (const args of [
      ['-XGET', 'https://api.example.com/v1/x'],
      ['--hostname=api.example.com', 'api'],
      ['fetch', 'origin'],
    ]) {
      const r = await s.call('exec', { command: 'tool', args });
      expect(r.isError, textOf(r)).toBeFalsy();
    }
    expect((await ran()).split('\n')).toEqual([
      '-XGET',
      'https://api.example.com/v1/x',
      '--hostname=api.example.com',
      'api',
      'fetch',
      'origin',
      '',
    ]);
  });
});
