/**
 * Red team leak search across today's features at once: the BUILT `janee serve --http`
 * (in-process, passphrase from a file) with an agent token; a bearer service whose
 * upstream echoes secrets in several encodings; an aws-sigv4 service (three secret
 * fields); an oauth2 client_credentials service minting from the loopback upstream; a
 * command given the AWS secret key (exec); a call that waits for approval and expires.
 * Then every byte written (files under the scratch dir: JANEE_HOME, the approval state
 * dir, the agent-token last-use file), serve's stdout and stderr, and every tool result
 * the agent got are searched for every secret, the minted token and the agent token, in
 * raw, base64 (any alignment), base64url, hex, URL and JSON forms.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, PASSPHRASE, runJanee, scratchDir, withEnv, type JaneeEnv } from '../helpers/cli.js';
import { addAgent, connectHttp, startHttpServe, stopAllHttpServes } from '../helpers/http.js';
import { findForms, secretForms, textOf, type ToolResult } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const hex = (n: number) => randomBytes(n).toString('hex');
const BEARER = `sk_live_${hex(12)}`;
const AWS_ID = `AKIA${hex(8).toUpperCase()}`;
const AWS_SECRET = `aws/${hex(16)}+S`;
const AWS_SESSION = `FwoG${hex(16)}`;
const CLIENT_SECRET = `cs_${hex(14)}`;
const MINTED = `at_${hex(16)}`;

let up: Upstream;
let env: JaneeEnv;

beforeAll(async () => {
  up = await startUpstream();
  up.route('/token', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: MINTED, token_type: 'Bearer', expires_in: 3600 }));
  });
  const base = await initHome();
  env = withEnv(base, { HOME: scratchDir(base), XDG_STATE_HOME: undefined });
  const add = async (args: string[], input: string) => {
    const r = await runJanee(['add', ...args, '--key-stdin'], { env, input });
    expect(r.code, r.stderr).toBe(0);
  };
  await add(['api', '--base-url', up.url, '--auth', 'bearer'], `${BEARER}\n`);
  await add(
    ['aws', '--base-url', up.url, '--auth', '{ type: aws-sigv4, region: us-east-1, service: s3 }'],
    `${AWS_ID}\n${AWS_SECRET}\n${AWS_SESSION}\n`,
  );
  await add(
    ['crm', '--base-url', up.url, '--auth', `{ type: oauth2, grant: client_credentials, tokenUrl: "${up.url}/token" }`],
    `client-1\n${CLIENT_SECRET}\n`,
  );
  const bin = path.join(scratchDir(env), 'bin');
  await fs.mkdir(bin);
  await fs.writeFile(
    path.join(bin, 'show'),
    '#!/bin/sh\necho "k=$K"\nprintf %s "$K" | base64\nprintf %s "$K" | od -An -tx1 | tr -d " \\n"\necho\n',
    { mode: 0o755 },
  );
  const configFile = path.join(env.JANEE_HOME, 'config.yaml');
  const text = await fs.readFile(configFile, 'utf8');
  await fs.writeFile(
    configFile,
    text.replace(
      '\n  api:\n',
      '\n  api:\n    approvalWaitMs: 300\n    approvalTtlMs: 60000\n    policies:\n      - { path: /v1/charges, methods: [POST], approve: true }\n      - { path: /**, methods: [GET] }\n',
    ) +
      ['commands:', '  show:', `    program: ${path.join(bin, 'show')}`, '    env: { K: aws.secretAccessKey }', '    allow: [""]', ''].join(
        '\n',
      ),
  );
  // After the command exists: the binding pins its definition.
  expect((await runJanee(['bind', 'aws', 'exec:show'], { env })).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await stopAllHttpServes();
  await up?.close();
  await cleanupTempHomes();
});

it('no secret, minted token or agent token in anything written or returned', { timeout: 120_000 }, async () => {
  const token = await addAgent(env, 'ci');
  const passFile = path.join(scratchDir(env), 'pass');
  await fs.writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  const serve = await startHttpServe(withEnv(env, { JANEE_PASSPHRASE: undefined, JANEE_PASSPHRASE_FILE: passFile }));
  const results: ToolResult[] = [];
  const c = await connectHttp(serve.url, token);
  try {
    const call = async (name: string, args: Record<string, unknown>) => {
      const r = await c.call(name, args);
      results.push(r);
      return r;
    };
    expect((await call('execute', { service: 'api', method: 'GET', path: '/echo-secret', query: { key: BEARER } })).isError).toBeFalsy();
    const aws = await call('execute', { service: 'aws', method: 'GET', path: '/echo', headers: { 'X-AMZ-DATE': '20200101T000000Z' } });
    expect(aws.isError, textOf(aws)).toBeFalsy();
    const crm = await call('execute', { service: 'crm', method: 'GET', path: '/echo' });
    expect(crm.isError, textOf(crm)).toBeFalsy();
    expect(up.requests.some((r) => r.headers.authorization === `Bearer ${MINTED}`)).toBe(true);
    const show = await call('exec', { command: 'show', args: [] });
    expect(show.structuredContent, textOf(show)).toMatchObject({ exitCode: 0 });
    // The program did get the key (three forms of it, all redacted on the way back).
    expect((show.structuredContent as { stdout: string }).stdout.match(/\[REDACTED:aws\]/g)?.length).toBe(3);
    const wait = await call('execute', { service: 'api', method: 'POST', path: '/v1/charges', body: { amount: 1 } });
    expect(textOf(wait)).toMatch(/approv/);
    await call('execute', { service: 'nope', method: 'GET', path: '/' });
  } finally {
    await c.close();
  }
  expect(await serve.stop()).toBe(0);

  const needles: [string, string][] = [
    ['bearer', BEARER],
    ['aws id', AWS_ID],
    ['aws secret', AWS_SECRET],
    ['aws session', AWS_SESSION],
    ['client secret', CLIENT_SECRET],
    ['minted', MINTED],
    ['agent token', token],
  ];
  const found: string[] = [];
  const search = (where: string, bytes: string | Uint8Array, skip: string[] = []) => {
    for (const [label, s] of needles)
      if (!skip.includes(label) && findForms(bytes, secretForms(s)).length > 0) found.push(`${label} in ${where}`);
  };
  search('stdout', serve.stdout());
  search('stderr', serve.stderr());
  search('tool results', JSON.stringify(results));
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && p !== passFile) files.push(p);
    }
  };
  await walk(scratchDir(env));
  expect(files.some((f) => f.includes(`${path.sep}approvals${path.sep}`))).toBe(true);
  for (const f of files) search(path.relative(scratchDir(env), f), await fs.readFile(f));
  expect(found).toEqual([]);
});
