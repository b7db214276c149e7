/**
 * Daily use, through the BUILT command line: `janee explain`, the kill switch's
 * global/per-service independence and its printed state, usage errors that name
 * the argument, did-you-mean, and help text (placeholders, whole paragraphs).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, errorLines, runJanee, tempHome, withEnv, type JaneeEnv } from '../helpers/cli.js';

afterAll(cleanupTempHomes);

const CONFIG = `# explain test config
services:
  stripe:
    baseUrl: https://api.stripe.com
    auth: bearer
    rateLimit: 60/min
    policies:
      - path: /v1/charges
        methods: [GET, POST]
      - path: /v1/admin
        deny: true
  open:
    baseUrl: https://open.example.com
    auth: bearer
`; // the allow rule is on line 8, the deny rule on line 10

let env: JaneeEnv;
let killFile: string;
beforeAll(async () => {
  env = await tempHome();
  await fs.mkdir(env.JANEE_HOME, { recursive: true, mode: 0o700 });
  await fs.writeFile(path.join(env.JANEE_HOME, 'config.yaml'), CONFIG);
  killFile = path.join(env.JANEE_HOME, 'killswitch');
  // explain never needs the vault: no passphrase anywhere.
  env = withEnv(env, { JANEE_PASSPHRASE: undefined });
});

const janee = (args: string[], e: NodeJS.ProcessEnv = env) => runJanee(args, { env: e });
const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;
const jsonError = (stdout: string) => (json(stdout)['error'] ?? {}) as { code?: string; message?: string; hint?: string };

describe('janee explain', () => {
  it('allowed: exit 0, the allow rule with its config.yaml line, no deny rule, origin binding not checked', async () => {
    const r = await janee(['explain', 'stripe', 'post', '/v1/charges/ch_1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('stripe POST /v1/charges/ch_1: allowed');
    expect(r.stdout).toMatch(/rule: +allow GET\|POST \/v1\/charges \(.*config\.yaml:8\)/);
    expect(r.stdout).toMatch(/deny rule: +none matched/);
    expect(r.stdout).toMatch(/rate limit: +60\/min/);
    expect(r.stdout).toMatch(/origin binding: +not checked \(needs the vault\)/);
    const j = json((await janee(['explain', 'stripe', 'GET', '/v1/charges', '--json'])).stdout);
    expect(j).toMatchObject({
      allowed: true,
      verdict: 'allowed',
      rule: 'allow GET|POST /v1/charges',
      ruleLine: 8,
      denyRule: null,
      killed: false,
      originBinding: 'not checked (needs the vault)',
    });
  });

  it('blocked by a deny rule: exit 1, the deny rule and its line, and the refusal the agent gets names it', async () => {
    const r = await janee(['explain', 'stripe', 'GET', '/v1/admin.json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('stripe GET /v1/admin.json: blocked by policy');
    expect(r.stdout).toMatch(/rule: +deny \* \/v1\/admin \(.*config\.yaml:10\)/);
    expect(r.stdout).toContain('denied by deny * /v1/admin; allowed: GET|POST /v1/charges');
    const j = json((await janee(['explain', 'stripe', 'GET', '/v1/ADMIN/users', '--json'])).stdout);
    expect(j).toMatchObject({ allowed: false, verdict: 'blocked', denyRule: 'deny * /v1/admin', ruleLine: 10 });
  });

  it('no rule matches: exit 1, "no matching policy"; no policies key: any request, exit 0', async () => {
    const r = await janee(['explain', 'stripe', 'DELETE', '/v1/charges', '--json']);
    expect(r.code).toBe(1);
    expect(json(r.stdout)).toMatchObject({ verdict: 'blocked', rule: 'no matching policy', ruleLine: null, denyRule: null });
    const o = await janee(['explain', 'open', 'DELETE', '/anything']);
    expect(o.code).toBe(0);
    expect(o.stdout).toContain('no policies: key (any request is allowed)');
  });

  it('normalises the path as the gate does, and refuses a malformed one with the reason', async () => {
    const n = await janee(['explain', 'stripe', 'get', '/v1/%63harges']);
    expect(n.code).toBe(0);
    expect(n.stdout).toMatch(/normalised: +GET \/v1\/charges/);
    const m = await janee(['explain', 'stripe', 'GET', '/v1/charges/../admin']);
    expect(m.code).toBe(1);
    expect(m.stdout).toContain('refused as malformed');
    expect(m.stdout).toContain('".." segments');
    const j = json((await janee(['explain', 'stripe', 'BREW', '/v1/charges', '--json'])).stdout);
    expect(j).toMatchObject({ verdict: 'malformed', allowed: false, method: null });
    expect(String(j['malformed'])).toContain('BREW');
  });

  it('unknown service: exit 1 and the known services', async () => {
    const r = await janee(['explain', 'nope', 'GET', '/']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('not in config.yaml (known: stripe, open)');
    expect(json((await janee(['explain', 'nope', 'GET', '/', '--json'])).stdout)).toMatchObject({
      verdict: 'unknown_service',
      knownServices: ['stripe', 'open'],
    });
  });

  it('says when the kill switch blocks the request', async () => {
    expect((await janee(['killswitch', 'on', 'stripe'])).code).toBe(0);
    try {
      const r = await janee(['explain', 'stripe', 'GET', '/v1/charges', '--json']);
      expect(r.code).toBe(1);
      expect(json(r.stdout)).toMatchObject({ verdict: 'killed', killed: true, killswitch: 'stripe', rule: 'allow GET|POST /v1/charges' });
      expect((await janee(['explain', 'open', 'GET', '/x'])).code).toBe(0);
    } finally {
      await fs.rm(killFile, { force: true });
    }
  });

  it('errors: exit 2, and with --json a {"error":{code,message,hint}} object on stdout', async () => {
    const missing = await tempHome();
    const r = await janee(['explain', 'stripe', 'GET', '/', '--json'], withEnv(missing, { JANEE_PASSPHRASE: undefined }));
    expect(r.code).toBe(2);
    const err = jsonError(r.stdout);
    expect(Object.keys(err).sort()).toEqual(['code', 'hint', 'message']);
    expect(err.code).toBe('CONFIG_MISSING');
    expect(err.message).toContain('does not exist');
    expect(errorLines(r.stderr).error).toContain('does not exist');
    const u = await janee(['explain', 'stripe', 'GET', '--json']);
    expect(u.code).toBe(2);
    const usage = jsonError(u.stdout);
    expect(usage.code).toBe('USAGE');
    expect(usage.message).toBe('missing positional argument <path> for `janee explain`');
    expect(usage.hint).toContain('janee explain');
  });
});

describe('janee killswitch', () => {
  it('the global switch keeps per-service blocks, off SERVICE lifts only it, and every change prints what is blocked now', async () => {
    try {
      let r = await janee(['killswitch', 'on', 'stripe', 'github']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('blocked now: github, stripe\n');
      r = await janee(['killswitch', 'on']);
      expect(r.stdout).toBe('blocked now: everything (and on their own: github, stripe)\n');
      r = await janee(['killswitch', 'off', 'github']);
      expect(r.stdout).toBe('blocked now: everything (and on their own: stripe)\n');
      expect(r.stderr).toContain('the global switch is still on');
      r = await janee(['killswitch', 'off']); // global off: stripe stays blocked (it was wiped before)
      expect(r.stdout).toBe('blocked now: stripe\n');
      expect(json((await janee(['killswitch', 'status', '--json'])).stdout)).toEqual({ all: false, services: ['stripe'], blocked: 'some' });
      r = await janee(['killswitch', 'off', '--all', '--json']);
      expect(json(r.stdout)).toEqual({ all: false, services: [], blocked: 'nothing' });
      expect((await janee(['killswitch', 'status'])).stdout).toBe('nothing is blocked\n');
    } finally {
      await fs.rm(killFile, { force: true });
    }
  });

  it('reads a state file written in the previous format', async () => {
    const oldHeader =
      '# janee kill switch: calls to the services below are blocked while this file exists.\n# One service name per line; "*" blocks every service. Remove with: janee killswitch off\n';
    try {
      await fs.writeFile(killFile, `${oldHeader}stripe\ngithub\n`, { mode: 0o600 });
      expect((await janee(['killswitch', 'status'])).stdout).toBe('blocked now: github, stripe\n');
      await fs.writeFile(killFile, `${oldHeader}*\n`, { mode: 0o600 });
      expect((await janee(['killswitch', 'status'])).stdout).toBe('blocked now: everything\n');
      expect((await janee(['killswitch', 'off'])).stdout).toBe('nothing is blocked\n');
    } finally {
      await fs.rm(killFile, { force: true });
    }
  });

  it('a damaged file: changes are refused (exit 1, JSON error with --json) except off --all', async () => {
    try {
      await fs.writeFile(killFile, 'stripe\nnot a name!\n', { mode: 0o600 });
      const r = await janee(['killswitch', 'off', '--json']);
      expect(r.code).toBe(1);
      expect(jsonError(r.stdout).code).toBe('KILLSWITCH_DAMAGED');
      expect(jsonError(r.stdout).hint).toContain('off --all');
      expect((await janee(['killswitch', 'off', '--all'])).stdout).toBe('nothing is blocked\n');
      const u = await janee(['killswitch', 'pause', '--json']);
      expect(u.code).toBe(2);
      expect(json(u.stdout)).toMatchObject({ error: { code: 'USAGE' } });
    } finally {
      await fs.rm(killFile, { force: true });
    }
  });
});

describe('usage errors and help', () => {
  it('an unknown command gets a did-you-mean', async () => {
    const r = await janee(['adn', 'stripe']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr).error).toBe('janee: error: unknown command "adn"');
    expect(errorLines(r.stderr).hint).toContain('did you mean `janee add`?');
    expect(errorLines((await janee(['killswich', 'on'])).stderr).hint).toContain('did you mean `janee killswitch`?');
    expect(errorLines((await janee(['xyzzy'])).stderr).hint).not.toContain('did you mean');
  });

  it('a missing positional argument is named; an extra one is counted, never echoed', async () => {
    let r = await janee(['bind', 'stripe']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr).error).toBe('janee: error: missing positional argument <url> for `janee bind`');
    r = await janee(['explain', 'stripe']);
    expect(errorLines(r.stderr).error).toBe('janee: error: missing positional arguments <method> and <path> for `janee explain`');
    r = await janee(['remove', 'stripe', 'sk_test_SECRETVALUE']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr).error).toBe('janee: error: one argument too many for `janee remove` (the 2nd; it takes <name>)');
    expect(r.stderr).not.toContain('SECRETVALUE');
  });

  it('extra arguments on a command with --policy/--deny: a rule with a space needs quotes', async () => {
    const r = await janee(['add', 'svc', '--base-url', 'https://svc.example.com', '--policy', 'GET', '/v1/x']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr).error).toContain('one argument too many for `janee add`');
    expect(errorLines(r.stderr).hint).toContain("a rule with a space needs quotes: --policy 'GET /v1/x'");
    expect(r.stderr).not.toContain('/v1/x"');
  });

  it('help shows value placeholders (no #0) and no paragraph stops mid-sentence', async () => {
    const top = await janee(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('--base-url <url>');
    const commands = [...top.stdout.matchAll(/^ {2}janee ((?:[a-z][\w-]* ?)+)/gm)].map((m) => m[1]!.trim());
    expect(commands).toEqual(expect.arrayContaining(['add', 'explain', 'killswitch', 'logs verify', 'vault merge']));
    for (const c of commands) {
      const r = await janee([...c.split(' '), '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).not.toMatch(/#\d|<value>/);
      const details = /\nDetails\n\n([\s\S]*?)(?:\nExamples\n|$)/.exec(r.stdout)?.[1] ?? '';
      for (const para of details
        .split(/\n\n+/)
        .map((p) => p.trim())
        .filter(Boolean)) {
        expect(para, `${c}: ${para}`).toMatch(/[.:)`]$/);
      }
    }
  }, 120_000);
});
