/**
 * What a short command loads. `janee --version` and the everyday commands must start
 * near a bare `node -e 0` (issue 16): each loads its own command module and what that
 * imports, never every command's (which is what `--help` and unknown words need) and
 * never serve's MCP SDK or undici. Observed on the BUILT bundle in a real process,
 * through a Node module-loader hook that records every module resolved, so a change
 * to the command table or to an import that pulls in a big chunk shows up here
 * rather than as a slower start nobody notices. (Timings are `npm run bench`'s job.)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanupTempHomes, initHome, scratchDir, withEnv, type JaneeEnv } from '../helpers/cli.js';

afterAll(cleanupTempHomes);

let home: JaneeEnv;
let hookDir: string;
beforeAll(async () => {
  home = await initHome();
  hookDir = scratchDir(home);
  await fs.mkdir(hookDir, { recursive: true });
  // The hooks run on Node's loader thread: they append each resolved URL to $JANEE_TEST_LOADED.
  await fs.writeFile(
    path.join(hookDir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (process.env.JANEE_TEST_LOADED) appendFileSync(process.env.JANEE_TEST_LOADED, r.url + '\\n');
  return r;
}
`,
  );
  await fs.writeFile(
    path.join(hookDir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(hookDir, 'hooks.mjs')).href)});\n`,
  );
});

/** The bundle chunks (dist/cli/chunks/*.js, by base name) one real run of `janee ...args` loads. */
async function chunksLoaded(args: string[]): Promise<string[]> {
  const log = path.join(hookDir, `loaded-${args.join('_').replace(/[^a-z0-9_-]/gi, '')}.txt`);
  await fs.rm(log, { force: true });
  const env = withEnv(home, { JANEE_PASSPHRASE: undefined, JANEE_TEST_LOADED: log });
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(path.join(hookDir, 'register.mjs')).href, CLI, ...args], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
  expect(r.status, r.stderr).toBe(0);
  const urls = (await fs.readFile(log, 'utf8')).split('\n').filter(Boolean);
  return [...new Set(urls.filter((u) => u.includes('/dist/cli/chunks/')).map((u) => u.slice(u.lastIndexOf('/') + 1)))].sort();
}

/** esbuild names a chunk after its dynamic-import entry (`serve-<hash>.js`); shared code is `chunk-<hash>.js`. */
const entryChunks = (chunks: string[]) => chunks.filter((c) => !c.startsWith('chunk-')).map((c) => c.replace(/-[A-Z0-9]+\.js$/, ''));

describe('what a short command loads', () => {
  it('the hook sees the command modules `--help` needs (the check below can fail)', async () => {
    const all = entryChunks(await chunksLoaded(['--help']));
    expect(all).toEqual(expect.arrayContaining(['serve', 'status', 'list', 'logs', 'init']));
  });

  it('`janee --version` and `janee -v` load no command module', async () => {
    expect(entryChunks(await chunksLoaded(['--version']))).toEqual([]);
    expect(entryChunks(await chunksLoaded(['-v']))).toEqual([]);
  });

  // `load` is config/load.ts (the YAML parser), imported on demand by the commands that read config.yaml.
  it.each([
    [['status'], ['load', 'status']],
    [['list'], ['list', 'load']],
    [['logs', '-n', '5'], ['logs']],
  ])('`janee %j` loads its own command module, not serve, undici or the others', async (args, own) => {
    expect(entryChunks(await chunksLoaded(args))).toEqual(own);
  });
});
