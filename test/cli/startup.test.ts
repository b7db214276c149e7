/**
 * What a short command loads. `janee --version` and the everyday commands must start
 * near a bare `node -e 0` (issue 16): each evaluates its own command module and what
 * that imports, never every command's (which is what `--help` and unknown words need)
 * and never serve's MCP SDK or undici. The bundle (dist/cli/bundle.js) is one script
 * in which every module is a lazy initialiser (esbuild's `__esm` for ES modules,
 * `__commonJS` for CommonJS ones), named by its source path. The test runs a copy of
 * the BUILT bundle with those two helpers made to record each module they evaluate,
 * in a real process, so a change to the command table or to an import that pulls in a
 * big dependency shows up here rather than as a slower start nobody notices.
 * (Timings are `npm run bench`'s job.)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanupTempHomes, initHome, scratchDir, withEnv, type JaneeEnv } from '../helpers/cli.js';

afterAll(cleanupTempHomes);

const ESM = 'var __esm=(fn,res,err)=>function(){';
const CJS = 'var __commonJS=(cb,mod)=>function(){';

let home: JaneeEnv;
let dir: string;
beforeAll(async () => {
  home = await initHome();
  dir = scratchDir(home);
  await fs.mkdir(dir, { recursive: true });
  const source = await fs.readFile(path.join(path.dirname(CLI), 'bundle.js'), 'utf8');
  // Exactly one of each, or the build changed shape and this test must learn it.
  expect(source.split(ESM).length).toBe(2);
  expect(source.split(CJS).length).toBe(2);
  const record = (arg: string) => `(globalThis.__janeeLoaded??=new Set).add(Object.keys(${arg})[0]);`;
  await fs.writeFile(path.join(dir, 'bundle.js'), source.replace(ESM, ESM + record('fn')).replace(CJS, CJS + record('cb')));
  // Runs the recording copy as the launcher runs the bundle, then writes what it evaluated.
  await fs.writeFile(
    path.join(dir, 'run.cjs'),
    `const { readFileSync, writeFileSync } = require('node:fs');
const { runInThisContext } = require('node:vm');
const file = require('node:path').join(__dirname, 'bundle.js');
process.on('exit', () => writeFileSync(process.env.JANEE_TEST_LOADED, [...(globalThis.__janeeLoaded ?? [])].join('\\n')));
const bundle = { exports: {} };
runInThisContext(readFileSync(file, 'utf8'), { filename: file })(bundle.exports, require, bundle, file, __dirname);
`,
  );
});

/** The source paths of the modules one real run of `janee ...args` evaluates. */
async function modulesLoaded(args: string[]): Promise<string[]> {
  const log = path.join(dir, `loaded-${args.join('_').replace(/[^a-z0-9_-]/gi, '')}.txt`);
  await fs.rm(log, { force: true });
  const env = withEnv(home, { JANEE_PASSPHRASE: undefined, JANEE_TEST_LOADED: log });
  const r = spawnSync(process.execPath, [path.join(dir, 'run.cjs'), ...args], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return (await fs.readFile(log, 'utf8')).split('\n').filter(Boolean).sort();
}

/** The command modules (src/cli/commands/<name>.ts) among them. */
const commandModules = (loaded: string[]) =>
  loaded.filter((m) => /^src\/cli\/commands\/(?!index\.ts)[^/]+\.ts$/.test(m)).map((m) => path.basename(m, '.ts'));
// (?:^|/): in a worktree whose node_modules is a symlink, esbuild names the modules by the path it resolves to.
const heavy = (loaded: string[]) =>
  loaded.filter((m) => /(?:^|\/)node_modules\/(@modelcontextprotocol|undici|zod)\//.test(m) || m.startsWith('src/mcp/'));

describe('what a short command loads', () => {
  it('the recording sees the command modules, the MCP SDK and undici that `--help` needs (the checks below can fail)', async () => {
    const all = await modulesLoaded(['--help']);
    expect(commandModules(all)).toEqual(expect.arrayContaining(['serve', 'status', 'list', 'logs', 'init']));
    expect(heavy(all).some((m) => m.includes('node_modules/@modelcontextprotocol/'))).toBe(true);
  });

  it('`janee --version` and `janee -v` load no command module', async () => {
    expect(commandModules(await modulesLoaded(['--version']))).toEqual([]);
    expect(commandModules(await modulesLoaded(['-v']))).toEqual([]);
  });

  it.each([
    [['status'], ['status']],
    [['list'], ['list']],
    [['logs', '-n', '5'], ['logs']],
  ])('`janee %j` loads its own command module, not serve, the MCP SDK, zod or undici', async (args, own) => {
    const loaded = await modulesLoaded(args);
    expect(commandModules(loaded)).toEqual(own);
    expect(heavy(loaded)).toEqual([]);
  });
});
