/**
 * config.yaml loading as a table: each valid file with what it loads to, each
 * invalid one with its stable error code, the `file:line` the message points at
 * and the field it names. The real loadConfig on real files, no mocks.
 */
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS } from '../../src/config/types.js';
import { JaneeError } from '../../src/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'janee-config-load-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

let n = 0;
async function write(text: string): Promise<string> {
  const file = path.join(dir, `config-${n++}.yaml`);
  await fs.writeFile(file, text);
  return file;
}

const SVC = (body: string) => `services:\n  s:\n    baseUrl: https://api.example.com\n${body}`;

describe('valid configs load to their validated form', () => {
  const cases: { name: string; text: string; check: (c: Awaited<ReturnType<typeof loadConfig>>, file: string) => void }[] = [
    { name: 'an empty file: no services', text: '', check: (c) => expect(c.services.size).toBe(0) },
    { name: 'comments only', text: '# nothing yet\n', check: (c) => expect(c.services.size).toBe(0) },
    { name: '`services:` with nothing under it', text: 'services:\n', check: (c) => expect(c.services.size).toBe(0) },
    {
      name: 'shorthand auth, defaults for limits, no policies key = undefined (any request)',
      text: SVC('    auth: bearer\n'),
      check: (c) =>
        expect(c.services.get('s')).toEqual({
          name: 's',
          baseUrl: 'https://api.example.com',
          auth: { type: 'bearer' },
          policies: undefined,
          rateLimit: undefined,
          maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
          timeoutMs: DEFAULT_TIMEOUT_MS,
        }),
    },
    {
      name: 'a trailing slash on baseUrl is dropped',
      text: 'services:\n  s:\n    baseUrl: https://api.example.com/v2/\n    auth: basic\n',
      check: (c) => expect(c.services.get('s')?.baseUrl).toBe('https://api.example.com/v2'),
    },
    {
      name: 'http is allowed for loopback',
      text: 'services:\n  s:\n    baseUrl: http://127.0.0.1:8080\n    auth: bearer\n',
      check: (c) => expect(c.services.get('s')?.baseUrl).toBe('http://127.0.0.1:8080'),
    },
    {
      name: 'header auth',
      text: SVC('    auth: { type: header, name: X-Api-Key }\n'),
      check: (c) => expect(c.services.get('s')?.auth).toEqual({ type: 'header', name: 'X-Api-Key' }),
    },
    {
      name: 'query auth',
      text: SVC('    auth: { type: query, param: api_key }\n'),
      check: (c) => expect(c.services.get('s')?.auth).toEqual({ type: 'query', param: 'api_key' }),
    },
    {
      name: 'policies: methods upper-cased, missing methods = any, deny kept',
      text: SVC(
        '    auth: bearer\n    policies:\n      - path: /v1/charges\n        methods: [get, Post]\n      - path: /v1/admin\n        deny: true\n',
      ),
      check: (c) =>
        expect(c.services.get('s')?.policies).toEqual([
          { path: '/v1/charges', methods: ['GET', 'POST'], deny: false },
          { path: '/v1/admin', methods: ['*'], deny: true },
        ]),
    },
    {
      name: '`policies:` empty = nothing allowed',
      text: SVC('    auth: bearer\n    policies:\n'),
      check: (c) => expect(c.services.get('s')?.policies).toEqual([]),
    },
    {
      name: 'rate limit, response cap, timeout, test path',
      text: SVC('    auth: bearer\n    rateLimit: 60 / min\n    maxResponseBytes: 2048\n    timeoutMs: 5000\n    testPath: /v1/me\n'),
      check: (c) => {
        const s = c.services.get('s');
        expect(s?.rateLimit).toEqual({ count: 60, windowMs: 60_000, text: '60/min' });
        expect(s?.maxResponseBytes).toBe(2048);
        expect(s?.timeoutMs).toBe(5000);
        expect(s?.testPath).toBe('/v1/me');
      },
    },
    {
      name: '`vault:` is resolved against the config file directory',
      text: 'vault: secrets/v.janee\nservices:\n',
      check: (c, file) => expect(c.vaultPath).toBe(path.join(path.dirname(file), 'secrets', 'v.janee')),
    },
    {
      name: 'audit settings',
      text: 'audit:\n  keepDays: 30\n  checkpointEvery: 100\nservices:\n',
      check: (c) => expect(c.audit).toEqual({ keepDays: 30, checkpointEvery: 100 }),
    },
    {
      name: 'service names with digits, dots, dashes and underscores; order kept',
      text: 'services:\n  b.2:\n    baseUrl: https://b.example.com\n    auth: bearer\n  a_1-x:\n    baseUrl: https://a.example.com\n    auth: bearer\n',
      check: (c) => expect([...c.services.keys()]).toEqual(['b.2', 'a_1-x']),
    },
  ];
  it.each(cases)('$name', async ({ text, check }) => {
    const file = await write(text);
    const c = await loadConfig(file);
    expect(c.file).toBe(file);
    check(c, file);
  });
});

describe('invalid configs: stable code, file:line, the field named', () => {
  // line: the line the message points at (1-based), or null when it names the file only.
  const cases: { name: string; text: string; code: string; line: number | null; message: RegExp; hint?: RegExp }[] = [
    { name: 'broken YAML', text: 'services:\n  s: [\n', code: 'CONFIG_INVALID', line: 3, message: /invalid YAML/, hint: /YAML syntax/ },
    {
      name: 'a service twice',
      text: 'services:\n  s:\n    baseUrl: https://a.example.com\n    auth: bearer\n  s:\n    baseUrl: https://b.example.com\n    auth: bearer\n',
      code: 'CONFIG_INVALID',
      line: 5,
      message: /duplicate key/,
    },
    { name: 'the root is a list', text: '- a\n- b\n', code: 'CONFIG_INVALID', line: 1, message: /\(top level\): expected a mapping/ },
    {
      name: 'an unknown top-level key',
      text: 'services:\nservice:\n',
      code: 'CONFIG_INVALID',
      line: 2,
      message: /\(top level\)\.service: unknown key \(expected one of: services, vault, version, audit, commands\)/,
    },
    {
      name: 'a Janee 0.x config',
      text: 'masterKey: abc\nservices:\n',
      code: 'CONFIG_INVALID',
      line: 1,
      message: /masterKey: this looks like a Janee 0\.x config/,
      hint: /janee migrate/,
    },
    { name: '`services:` is a list', text: 'services:\n  - s\n', code: 'CONFIG_INVALID', line: 2, message: /services: expected a mapping/ },
    {
      name: 'a bad service name',
      text: 'services:\n  "-bad":\n    baseUrl: https://a.example.com\n    auth: bearer\n',
      code: 'CONFIG_INVALID',
      line: 2,
      message: /services: service names are 1-64/,
    },
    {
      name: 'no baseUrl',
      text: 'services:\n  s:\n    auth: bearer\n',
      code: 'CONFIG_INVALID',
      line: 3,
      message: /services\.s: missing baseUrl/,
    },
    {
      name: 'no auth',
      text: 'services:\n  s:\n    baseUrl: https://a.example.com\n',
      code: 'CONFIG_INVALID',
      line: 3,
      message: /services\.s: missing auth/,
    },
    {
      name: 'plain http to a remote host',
      text: 'services:\n  s:\n    baseUrl: http://api.example.com\n    auth: bearer\n',
      code: 'CONFIG_INVALID',
      line: 3,
      message: /services\.s\.baseUrl: refusing plain http to api\.example\.com/,
      hint: /https/,
    },
    {
      name: 'a query in baseUrl',
      text: SVC('    auth: bearer\n').replace('example.com', 'example.com/?a=1'),
      code: 'CONFIG_INVALID',
      line: 3,
      message: /services\.s\.baseUrl: base URL must not have a query/,
    },
    {
      name: 'an unknown auth type',
      text: SVC('    auth: { type: oauth }\n'),
      code: 'CONFIG_INVALID',
      line: 4,
      message: /services\.s\.auth\.type: unknown auth type "oauth"/,
    },
    {
      name: 'header auth without a name',
      text: SVC('    auth: header\n'),
      code: 'CONFIG_INVALID',
      line: 4,
      message: /services\.s\.auth: auth type header needs a name/,
    },
    {
      name: 'header auth on Host',
      text: SVC('    auth: { type: header, name: Host }\n'),
      code: 'CONFIG_INVALID',
      line: 4,
      message: /services\.s\.auth\.name: Host cannot carry a credential/,
    },
    {
      name: 'a field another auth type uses',
      text: SVC('    auth: { type: bearer, param: x }\n'),
      code: 'CONFIG_INVALID',
      line: 4,
      message: /services\.s\.auth\.param: not used by auth type bearer/,
    },
    {
      name: 'an unknown service key',
      text: SVC('    auth: bearer\n    retries: 3\n'),
      code: 'CONFIG_INVALID',
      line: 5,
      message: /services\.s\.retries: unknown key/,
    },
    {
      name: 'policies not a list',
      text: SVC('    auth: bearer\n    policies: /v1\n'),
      code: 'CONFIG_INVALID',
      line: 5,
      message: /services\.s\.policies: expected a list/,
    },
    {
      name: 'a rule without a path',
      text: SVC('    auth: bearer\n    policies:\n      - methods: [GET]\n'),
      code: 'CONFIG_INVALID',
      line: 6,
      message: /services\.s\.policies\[0\]: missing path/,
    },
    {
      name: 'an unknown method',
      text: SVC('    auth: bearer\n    policies:\n      - path: /v1\n        methods: [GET, FETCH]\n'),
      code: 'CONFIG_INVALID',
      line: 7,
      message: /services\.s\.policies\[0\]\.methods\[1\]: unknown method "FETCH"/,
    },
    {
      name: 'deny that is not a boolean',
      text: SVC('    auth: bearer\n    policies:\n      - path: /v1\n        deny: "yes"\n'),
      code: 'CONFIG_INVALID',
      line: 7,
      message: /services\.s\.policies\[0\]\.deny: expected true or false/,
    },
    {
      name: 'a bad rate limit',
      text: SVC('    auth: bearer\n    rateLimit: fast\n'),
      code: 'CONFIG_INVALID',
      line: 5,
      message: /services\.s\.rateLimit: expected N\/sec, N\/min, N\/hour or N\/day \(got "fast"\)/,
    },
    {
      name: 'a timeout out of range',
      text: SVC('    auth: bearer\n    timeoutMs: 0\n'),
      code: 'CONFIG_INVALID',
      line: 5,
      message: /services\.s\.timeoutMs: expected a whole number from 1 to 600000/,
    },
    {
      name: 'a test path with a query',
      text: SVC('    auth: bearer\n    testPath: /me?x=1\n'),
      code: 'CONFIG_INVALID',
      line: 5,
      message: /services\.s\.testPath: must not have a query/,
    },
    {
      name: 'a test path climbing out',
      text: SVC('    auth: bearer\n    testPath: /../admin\n'),
      code: 'CONFIG_INVALID',
      line: 5,
      message: /services\.s\.testPath: /,
    },
    { name: 'an unknown audit key', text: 'audit:\n  keep: 3\n', code: 'CONFIG_INVALID', line: 2, message: /audit\.keep: unknown key/ },
    { name: 'an empty vault path', text: 'vault: ""\n', code: 'CONFIG_INVALID', line: 1, message: /vault: expected a non-empty string/ },
    {
      name: 'an inline key under auth',
      text: SVC('    auth: { type: bearer, key: sk_live_x }\n'),
      code: 'CONFIG_INLINE_SECRET',
      line: 4,
      message: /services\.s\.auth\.key: a secret is written in config\.yaml/,
      hint: /janee migrate/,
    },
    {
      name: 'an inline token on the service',
      text: SVC('    auth: bearer\n    token: sk_live_x\n'),
      code: 'CONFIG_INLINE_SECRET',
      line: 5,
      message: /services\.s\.token: a secret is written/,
    },
  ];
  it.each(cases)('$name → $code at line $line', async ({ text, code, line, message, hint }) => {
    const file = await write(text);
    const e = await loadConfig(file).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(JaneeError);
    const err = e as JaneeError;
    expect(err.code).toBe(code);
    expect(err.exitCode).toBe(1);
    expect(err.message.startsWith(line === null ? `${file}: ` : `${file}:${line}: `), err.message).toBe(true);
    expect(err.message).toMatch(message);
    expect(err.hint).toBeDefined();
    if (hint) expect(err.hint).toMatch(hint);
    expect(err.message).not.toContain('sk_live_x'); // an inline secret is named, never echoed
  });

  it('a missing file is CONFIG_MISSING unless allowed (then: no services)', async () => {
    const file = path.join(dir, 'absent.yaml');
    await expect(loadConfig(file)).rejects.toMatchObject({ code: 'CONFIG_MISSING', message: `${file} does not exist` });
    expect(await loadConfig(file, { allowMissing: true })).toEqual({ file, vaultPath: undefined, services: new Map() });
  });
});
