/** config.yaml `commands:` (src/config/commands.ts): what loads, what is refused, what is warned about. */
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandWarnings } from '../../src/config/commands.js';
import { loadConfig, parseConfigText, validateConfig } from '../../src/config/load.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { JaneeError } from '../../src/errors.js';
import { execHome } from '../helpers/exec.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'janee-exec-config-'));
});
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

async function load(text: string) {
  const f = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  await fs.writeFile(f, text);
  return loadConfig(f);
}
async function invalid(text: string, code = 'CONFIG_INVALID'): Promise<string> {
  const e = await load(text).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(JaneeError);
  expect((e as JaneeError).code).toBe(code);
  return (e as JaneeError).message;
}

describe('commands: in config.yaml', () => {
  it('resolves a program on PATH to an absolute path when it loads', async () => {
    const c = await load('commands:\n  g:\n    program: git\n    env: { GH_TOKEN: github }\n    allow: ["ls-remote *"]\n');
    const g = c.commands!.get('g')!;
    expect(path.isAbsolute(g.file!)).toBe(true);
    expect(path.basename(g.file!)).toBe('git');
    expect(g.env).toEqual([{ name: 'GH_TOKEN', entry: 'github', field: undefined }]);
    expect(g).toMatchObject({ timeoutMs: 30000, maxOutputBytes: 1048576, cwd: [], deny: [] });
  });

  it('refuses, naming the line and field: reserved variables, bad patterns, a name a service has, a relative program, no allow', async () => {
    expect(await invalid('commands:\n  g:\n    program: git\n    env: { PATH: github }\n    allow: ["**"]\n')).toMatch(
      /:4: commands\.g\.env\.PATH: janee sets this variable itself/,
    );
    expect(await invalid('commands:\n  g:\n    program: git\n    env: { GIT_ASKPASS: github }\n    allow: ["**"]\n')).toMatch(
      /GIT_ASKPASS/,
    );
    expect(await invalid('commands:\n  g:\n    program: git\n    allow: ["pu*sh"]\n')).toMatch(/:4: commands\.g\.allow\[0\]: "pu\*sh"/);
    expect(
      await invalid(
        'services:\n  g:\n    baseUrl: https://a.example\n    auth: bearer\ncommands:\n  g:\n    program: git\n    allow: ["**"]\n',
      ),
    ).toMatch(/a service is also named "g"/);
    expect(await invalid('commands:\n  g:\n    program: bin/git\n    allow: ["**"]\n')).toMatch(/absolute path/);
    expect(await invalid('commands:\n  g:\n    program: git\n')).toMatch(/missing allow/);
    expect(await invalid('commands:\n  g:\n    program: git\n    allow: ["**"]\n    cwd: [relative/dir]\n')).toMatch(/absolute directory/);
    expect(await invalid('commands:\n  g:\n    program: git\n    allow: ["**"]\n    token: abc\n', 'CONFIG_INLINE_SECRET')).toMatch(
      /a secret is written in config\.yaml/,
    );
  });

  it('a program that is not installed is a warning and an EXEC_FAILED for that command only: HTTP services still load', async () => {
    const text =
      'services:\n  api:\n    baseUrl: https://api.example\n    auth: bearer\ncommands:\n  nope:\n    program: janee-no-such-program\n    allow: [""]\n';
    const c = await load(text);
    expect(c.services.has('api')).toBe(true);
    expect(c.commands!.get('nope')!.missing).toMatch(/"janee-no-such-program" was not found on PATH/);
    expect(commandWarnings(c)).toEqual([expect.stringMatching(/commands\.nope\.program: .* not found on PATH; exec of nope fails/)]);
    const h = await execHome({
      home: path.join(dir, 'h1'),
      config: { commands: { nope: { program: 'janee-no-such-program', allow: [''] } } },
      entries: {},
    });
    const e = await h.gate.exec({ command: 'nope', args: [] }, { agent: 't', agentSource: 'flag' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'EXEC_FAILED', message: expect.stringMatching(/nope cannot run here: .* not found on PATH/) });
    expect(h.warnings).toEqual([expect.stringMatching(/not found on PATH/)]);
    await h.gate.close();
  });

  it('warns about ** on a program that can send its environment elsewhere, when it gets a credential', async () => {
    const c = await load(
      'commands:\n  c:\n    program: curl\n    env: { K: api }\n    allow: ["**"]\n  n:\n    program: curl\n    env: { K: api }\n    allow: ["https://api.example/v1/*"]\n  free:\n    program: curl\n    allow: ["**"]\n',
    );
    expect(commandWarnings(c)).toEqual([expect.stringMatching(/^commands\.c: "\*\*" lets the agent pass any arguments to curl/)]);
  });
});

describe('docs/exec.md', () => {
  it('its example commands are valid config, and none of them warns (no ** on a forwarder)', async () => {
    const doc = await fs.readFile(path.join(REPO_ROOT, 'docs', 'exec.md'), 'utf8');
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const examples = blocks.filter((b) => b.startsWith('commands:') || b.startsWith('# config.yaml'));
    expect(examples.length).toBe(3);
    for (const b of examples) {
      const text = b.replace(/^ {2}git: … \(above\)\n/m, '');
      const c = validateConfig(parseConfigText('docs/exec.md', text), 'docs/exec.md');
      expect(c.commands!.size).toBeGreaterThan(0);
      expect(commandWarnings(c)).toEqual([]);
    }
  });
});
