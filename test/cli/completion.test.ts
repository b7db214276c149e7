/**
 * `janee completion bash|zsh|fish`, driven through the built CLI. The bash
 * script is checked by bash itself: it must parse (bash -n), and its completion
 * function, called the way readline calls it (COMP_WORDS / COMP_CWORD), must
 * offer the right words. The scripts come from the command table, so a newly
 * registered command or flag shows up without editing them.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, errorLines, runJanee, scratchDir, tempHome } from '../helpers/cli.js';
import { hasCommand } from '../helpers/pty.js';

afterAll(cleanupTempHomes);

let bashScript = '';
let scriptFile = '';
beforeAll(async () => {
  const r = await runJanee(['completion', 'bash']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  bashScript = r.stdout;
  scriptFile = path.join(scratchDir(await tempHome()), 'janee.bash');
  await fs.writeFile(scriptFile, bashScript);
});

/** What bash's completion function offers for the words typed so far (the last one is being completed). */
function complete(words: string[]): string[] {
  const arr = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync(
    'bash',
    [
      '--norc',
      '--noprofile',
      '-c',
      `source "$0"; COMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _janee; printf '%s\\n' "\${COMPREPLY[@]}"`,
      scriptFile,
    ],
    {
      encoding: 'utf8',
    },
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe.skipIf(!hasCommand('bash'))('bash', () => {
  it('parses (bash -n) and registers the function for janee', () => {
    const r = spawnSync('bash', ['-n', scriptFile], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(bashScript).toMatch(/^complete -o default -F _janee janee$/m);
  });

  it('completes command words: `janee a` offers add (and agent), `janee t` offers templates', () => {
    expect(complete(['janee', 'a'])).toEqual(expect.arrayContaining(['add', 'agent']));
    expect(complete(['janee', 'a'])).not.toContain('list');
    expect(complete(['janee', 't'])).toEqual(['templates', 'test']);
    expect(complete(['janee', 'logs', 'v'])).toEqual(['verify']);
    expect(complete(['janee', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
  });

  it('completes flags from the command definitions, template names and --auth values', () => {
    expect(complete(['janee', 'add', '--te'])).toEqual(['--template', '--test-path']);
    expect(complete(['janee', 'templates', '--'])).toEqual(expect.arrayContaining(['--json', '--help']));
    expect(complete(['janee', 'add', 'gi'])).toEqual(['github', 'gitlab']);
    expect(complete(['janee', 'add', 'x', '--auth', ''])).toEqual([
      'bearer',
      'basic',
      'header',
      'query',
      'oauth1a',
      'hmac-bybit',
      'hmac-okx',
      'hmac-mexc',
    ]);
    expect(complete(['janee', 'add', 'x', '--template', 'str'])).toEqual(['stripe']);
    expect(complete(['janee', '--v'])).toEqual(['--version']);
  });
});

describe.concurrent('zsh and fish', () => {
  it('zsh wraps the bash function with bashcompinit', async () => {
    const r = await runJanee(['completion', 'zsh']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('#compdef janee');
    expect(r.stdout).toMatch(/bashcompinit/);
    expect(r.stdout).toMatch(/^complete -o default -F _janee janee$/m);
    if (hasCommand('zsh')) expect(spawnSync('zsh', ['-n'], { input: r.stdout }).status).toBe(0);
  });

  it('fish lists every command with its description and flags', async () => {
    const r = await runJanee(['completion', 'fish']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^complete -c janee -n '__fish_use_subcommand' -a add -d 'Add a service/m);
    expect(r.stdout).toMatch(
      /^complete -c janee -n '__fish_seen_subcommand_from add' -l auth -x -a 'bearer basic header query oauth1a hmac-bybit hmac-okx hmac-mexc'$/m,
    );
    expect(r.stdout).toMatch(/^complete -c janee -n '__fish_seen_subcommand_from logs' -a verify/m);
    if (hasCommand('fish')) expect(spawnSync('fish', ['--no-execute'], { input: r.stdout }).status).toBe(0);
  });

  it('an unknown shell is a usage error', async () => {
    const r = await runJanee(['completion', 'tcsh']);
    expect(errorLines(r.stderr).error).toMatch(/unknown shell "tcsh"/);
    expect(errorLines(r.stderr).hint).toMatch(/bash, zsh, fish/);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });
});
