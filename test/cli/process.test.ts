/**
 * What only a real `janee` process shows, kept apart from the suites that run the
 * built CLI in-process (test/helpers/cli.ts): exit statuses 0/1/2 through the
 * binary (also through a symlink, as npm installs `bin`), nothing on stdout for
 * errors or for a serve that received nothing, a prompt on a real terminal, and that
 * importing dist/cli/main.js with the embedding marker runs nothing. Plus the check
 * that keeps the in-process runner honest: the same command lines give the same
 * code, stdout and stderr both ways.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  cleanupTempHomes,
  errorLines,
  FAST,
  initHome,
  PASSPHRASE,
  runJanee,
  runJaneeInProcess,
  scratchDir,
  tempHome,
  withEnv,
  type JaneeEnv,
  type RunOptions,
} from '../helpers/cli.js';
import { hasPty, runUnderPty } from '../helpers/pty.js';

afterAll(cleanupTempHomes);

const VERSION = (JSON.parse(await fs.readFile(path.join(path.dirname(CLI), '../../package.json'), 'utf8')) as { version: string }).version;

let home: JaneeEnv;
beforeAll(async () => {
  home = await initHome();
  const added = await runJanee(['add', 'svc', '--base-url', 'https://svc.example.com', '--key-stdin', '--policy', 'GET /v1'], {
    env: home,
    input: 'sk_test_process_0123456789\n',
  });
  expect(added.code, added.stderr).toBe(0);
});

const real = (args: string[], opts: RunOptions = {}) => runJanee(args, { env: home, ...opts, spawn: true });

describe('exit status and streams of the real binary', () => {
  it('0: --version prints the version on stdout, nothing on stderr', async () => {
    const r = await real(['--version']);
    expect(r).toMatchObject({ code: 0, signal: null, stdout: `${VERSION}\n`, stderr: '', timedOut: false });
  });

  it('0: a command that succeeds prints its data on stdout', async () => {
    const r = await real(['list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { services: { name: string }[] }).services.map((s) => s.name)).toEqual(['svc']);
  });

  it('1: a failing command says so on stderr (error + hint), nothing on stdout', async () => {
    const r = await real(['remove', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const { error, hint } = errorLines(r.stderr);
    expect(error).toMatch(/nope/);
    expect(hint).toBeDefined();
  });

  it('1: a command that needs a passphrase and has no source fails at once, nothing on stdout', async () => {
    const r = await real(['rekey'], { env: withEnv(home, { JANEE_PASSPHRASE: undefined }) });
    expect(r.code).toBe(1);
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toBe('');
    expect(errorLines(r.stderr).error).toMatch(/no passphrase/);
  });

  it('2: a usage error, nothing on stdout; with --json the error is JSON on stdout', async () => {
    const r = await real(['lsit']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(errorLines(r.stderr).error).toBe('janee: error: unknown command "lsit"');
    expect(errorLines(r.stderr).hint).toMatch(/did you mean `janee list`/);
    const j = await real(['list', '--jsn', '--json']);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: 'USAGE' } });
  });

  it('serve with stdin closed at once: exit 0, nothing on stdout (it carries JSON-RPC only)', async () => {
    const r = await runJanee(['serve'], { env: home, input: '' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('a reader that goes away (`janee list | head -0`): no stack trace, the exit status of the command', async () => {
    // The shell's pipe, closed by its reader long before janee writes: every write fails with EPIPE.
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" list | head -c 0; exit \${PIPESTATUS[0]}`], {
      env: home,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|bundle\.js/);
    expect(r.status).toBe(0); // what `janee list` returns
  });

  it('through a symlink, as npm installs `bin`: the command line still runs', async () => {
    const link = path.join(scratchDir(home), 'janee');
    await fs.symlink(CLI, link);
    const viaNode = spawnSync(process.execPath, [link, '--version'], { encoding: 'utf8' });
    expect(viaNode.status, viaNode.stderr).toBe(0);
    expect(viaNode.stdout).toBe(`${VERSION}\n`);
    const direct = spawnSync(link, ['nope'], { encoding: 'utf8' }); // the shebang line
    expect(direct.status).toBe(2);
    expect(direct.stderr).toMatch(/unknown command "nope"/);
  });

  it('imported with the embedding marker, main.js runs nothing; main(argv, streams) writes to the streams given', async () => {
    const script = `
      globalThis[Symbol.for('janee.cli.embedded')] = true;
      const { main } = await import(${JSON.stringify(new URL(`file://${CLI}`).href)});
      let out = '';
      const code = await main(['--version'], { stdin: process.stdin, stdout: { write: (s) => { out += s; return true; } }, stderr: process.stderr });
      process.stderr.write(JSON.stringify({ code, out }));`;
    // process.argv.slice(2) is `remove svc`, a command line that must not run.
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, 'janee', 'remove', 'svc'], {
      encoding: 'utf8',
      env: home,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({ code: 0, out: `${VERSION}\n` });
    expect((await real(['list', '--json'])).stdout).toContain('"svc"'); // not removed
  });
});

describe.skipIf(!hasPty())('a real terminal', () => {
  it('init asks for the new passphrase twice on the terminal, without echo', async () => {
    const env = await tempHome();
    const r = await runUnderPty(
      ['env', `JANEE_HOME=${env.JANEE_HOME}`, process.execPath, CLI, 'init', ...FAST],
      [
        { waitFor: 'new vault passphrase: ', send: `${PASSPHRASE}\r` },
        { waitFor: 'again: ', send: `${PASSPHRASE}\r` },
      ],
    );
    expect(r.code, r.output).toBe(0);
    expect(r.output).not.toContain(PASSPHRASE);
    const list = await runJanee(['list', '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({ vault: 'read' });
  });
});

describe('the in-process runner gives what the real process gives', () => {
  const cases: { name: string; args: string[]; opts?: RunOptions }[] = [
    { name: 'version', args: ['--version'] },
    { name: 'help', args: ['--help'] },
    { name: 'command help', args: ['add', '--help'] },
    { name: 'unknown command', args: ['lsit'] },
    { name: 'usage error as JSON', args: ['explain', '--json'] },
    { name: 'list', args: ['list'] },
    { name: 'list --json', args: ['list', '--json'] },
    { name: 'explain', args: ['explain', 'svc', 'GET', '/v1'] },
    { name: 'explain refused', args: ['explain', 'svc', 'POST', '/v1', '--json'] },
    { name: 'a failure', args: ['remove', 'nope'] },
    {
      name: 'a duplicate add reading stdin',
      args: ['add', 'svc', '--base-url', 'https://svc.example.com', '--key-stdin'],
      opts: { input: 'sk_test_dup\n' },
    },
    { name: 'no passphrase', args: ['rekey'], opts: { env: withEnv({ ...process.env }, { JANEE_PASSPHRASE: undefined }) } },
    { name: 'logs of an empty audit log', args: ['logs'] },
    { name: 'completion', args: ['completion', 'bash'] },
  ];
  it.each(cases)('$name', async ({ args, opts }) => {
    const o: RunOptions = {
      env: opts?.env ? { ...opts.env, JANEE_HOME: home.JANEE_HOME } : home,
      ...(opts?.input === undefined ? {} : { input: opts.input }),
    };
    const spawned = await runJanee(args, { ...o, spawn: true });
    const inProcess = await runJaneeInProcess(args, o);
    expect(inProcess).toEqual(spawned);
  });
});
