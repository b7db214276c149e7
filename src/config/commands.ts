/**
 * config.yaml `commands:` — the programs the agent may run with `exec` (docs/exec.md).
 *
 * validateCommands checks the shape (pure, called from validateConfig, so a merge
 * or an edit on a machine without the program still validates); resolvePrograms
 * (loadConfig only) finds each program on PATH once, when the config loads, so
 * the binary that runs is fixed then. A program that is not found is not an error
 * of the whole file: config.yaml is shared between machines (docs/dotfiles.md),
 * and a machine without `stripe` must still serve its HTTP services. It is a
 * warning at load (stderr) and an EXEC_FAILED that says why for that command.
 */
import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { isScalar, isSeq, type Node } from 'yaml';
import { isBroadForwarder, parsePattern, type Pattern } from '../exec/pattern.js';
import { parseRateLimitNode, positiveInt, SERVICE_NAME, type Validator } from './load.js';
import { DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_TIMEOUT_MS, type CommandConfig, type JaneeConfig, type ServiceConfig } from './types.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Variables janee sets itself, or that would change what runs: never a credential's. */
const RESERVED_ENV = /^(PATH|HOME|LANG|TMPDIR|JANEE_.*|GIT_.*|LD_.*|DYLD_.*)$/;
const ENTRY = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63}?)(?:\.([A-Za-z0-9_-]{1,64}))?$/;

export function validateCommands(v: Validator, node: Node, services: Map<string, ServiceConfig>): Map<string, CommandConfig> {
  const out = new Map<string, CommandConfig>();
  if (isScalar(node) && node.value === null) return out;
  const map = v.map(node, 'commands');
  for (const pair of map.items) {
    const keyNode = pair.key as Node;
    const name = isScalar(keyNode) && typeof keyNode.value === 'string' ? keyNode.value : '';
    if (!SERVICE_NAME.test(name))
      v.fail(keyNode, 'commands', 'command names are 1-64 letters, digits, "_", "." or "-", starting with a letter or digit');
    // One namespace with services: the kill switch and the audit log name either by it.
    if (services.has(name)) v.fail(keyNode, `commands.${name}`, `a service is also named "${name}"; give the command another name`);
    out.set(name, validateCommand(v, name, pair.value as Node | null));
  }
  return out;
}

function validateCommand(v: Validator, name: string, node: Node | null): CommandConfig {
  const f = `commands.${name}`;
  const fields = v.entries(v.map(node, f), f, [
    'program',
    'env',
    'allow',
    'deny',
    'cwd',
    'gitCredential',
    'rateLimit',
    'timeoutMs',
    'maxOutputBytes',
    'description',
  ]);
  const programNode = fields.get('program')?.value;
  if (!programNode) v.fail(node, f, 'missing program (a name on PATH, such as gh, or an absolute path)');
  const written = v.string(programNode, `${f}.program`);
  const program = written.startsWith('~/') ? path.join(os.homedir(), written.slice(2)) : written;
  if (program.includes('/') ? !path.isAbsolute(program) : /[\s\u0000-\u001f]/.test(program))
    v.fail(programNode, `${f}.program`, 'expected a program name found on PATH (gh), or an absolute path');

  const env: CommandConfig['env'] = [];
  const envNode = fields.get('env')?.value;
  if (envNode && !(isScalar(envNode) && envNode.value === null)) {
    for (const pair of v.map(envNode, `${f}.env`).items) {
      const k = pair.key as Node;
      const varName = isScalar(k) && typeof k.value === 'string' ? k.value : '';
      if (!ENV_NAME.test(varName)) v.fail(k, `${f}.env`, 'environment variable names are letters, digits and "_"');
      if (RESERVED_ENV.test(varName))
        v.fail(k, `${f}.env.${varName}`, 'janee sets this variable itself; map the credential to another name');
      const ref = v.string(pair.value, `${f}.env.${varName}`);
      const m = ENTRY.exec(ref);
      if (!m)
        v.fail(pair.value as Node, `${f}.env.${varName}`, 'expected a vault entry name, or ENTRY.FIELD (e.g. github or stripe.token)');
      env.push({ name: varName, entry: m[1]!, field: m[2] });
    }
  }

  const patterns = (key: 'allow' | 'deny'): string[] => {
    const n = fields.get(key)?.value;
    if (!n || (isScalar(n) && n.value === null)) return [];
    if (!isSeq(n)) v.fail(n, `${f}.${key}`, 'expected a list of argument patterns, e.g. ["pr list **", "pr view *"]');
    return n.items.map((item, i) => {
      // "" is a pattern: the call with no arguments.
      if (!isScalar(item) || typeof item.value !== 'string') v.fail(item as Node, `${f}.${key}[${i}]`, 'expected a string');
      const text = item.value;
      const p = parsePattern(text);
      if (typeof p === 'string') v.fail(item, `${f}.${key}[${i}]`, p);
      return text.trim(); // parsed again where it is used (src/gate/exec.ts), exactly as written
    });
  };
  const allow = patterns('allow');
  const deny = patterns('deny');
  if (allow.length === 0 && !fields.has('allow'))
    v.fail(node, f, 'missing allow: list the argument patterns the agent may use (e.g. allow: ["pr list **"])');

  const cwd: string[] = [];
  const cwdNode = fields.get('cwd')?.value;
  if (cwdNode && !(isScalar(cwdNode) && cwdNode.value === null)) {
    const items = isSeq(cwdNode) ? cwdNode.items : [cwdNode];
    items.forEach((item, i) => {
      const raw = v.string(item, `${f}.cwd[${i}]`);
      const abs = raw === '~' ? os.homedir() : raw.startsWith('~/') ? path.join(os.homedir(), raw.slice(2)) : raw;
      if (!path.isAbsolute(abs)) v.fail(item as Node, `${f}.cwd[${i}]`, 'expected an absolute directory (or one under ~/)');
      cwd.push(path.resolve(abs));
    });
  }

  const gitNode = fields.get('gitCredential')?.value;
  const gitCredential = gitNode ? v.string(gitNode, `${f}.gitCredential`) : undefined;
  if (gitCredential !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(gitCredential))
    v.fail(gitNode, `${f}.gitCredential`, 'expected a vault entry name');

  const rl = fields.get('rateLimit')?.value;
  return {
    name,
    program,
    env,
    allow,
    deny,
    cwd,
    gitCredential,
    rateLimit: rl ? parseRateLimitNode(v, `${f}.rateLimit`, rl) : undefined,
    timeoutMs: positiveInt(v, `${f}.timeoutMs`, fields.get('timeoutMs')?.value, DEFAULT_TIMEOUT_MS, 60 * 60_000),
    maxOutputBytes: positiveInt(v, `${f}.maxOutputBytes`, fields.get('maxOutputBytes')?.value, DEFAULT_MAX_OUTPUT_BYTES, 4 * 1024 * 1024),
  };
}

/** Sets each command's `file`: the program found now (absolute, executable). */
export async function resolvePrograms(config: JaneeConfig): Promise<JaneeConfig> {
  if (!config.commands) return config;
  for (const cmd of config.commands.values()) {
    const found = await findProgram(cmd);
    if (found !== undefined) cmd.file = found;
    else cmd.missing = cmd.program.includes('/') ? `${cmd.program} is not an executable file` : `"${cmd.program}" was not found on PATH`;
  }
  return config;
}

/** PATH's absolute entries: a relative one (`bin`, `node_modules/.bin`, empty = `.`) names a place in whatever directory a program runs in. */
export function searchPath(): string[] {
  return (process.env.PATH ?? '').split(path.delimiter).filter((d) => path.isAbsolute(d));
}

async function findProgram(cmd: CommandConfig): Promise<string | undefined> {
  const p = cmd.program;
  const candidates = p.includes('/') ? [path.resolve(p)] : searchPath().map((d) => path.join(d, p));
  for (const c of candidates) {
    try {
      const st = await fs.stat(c);
      if (!st.isFile()) continue;
      await fs.access(c, fsc.X_OK);
      return c;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** What config load warns about (stderr): a `**` allow on a program that can send its environment elsewhere. */
export function commandWarnings(config: JaneeConfig): string[] {
  const out: string[] = [];
  for (const cmd of config.commands?.values() ?? []) {
    if (cmd.missing !== undefined)
      out.push(`commands.${cmd.name}.program: ${cmd.missing}; exec of ${cmd.name} fails until it is installed`);
    const allow = cmd.allow.map((t) => parsePattern(t) as Pattern);
    if (cmd.env.length + (cmd.gitCredential ? 1 : 0) > 0 && isBroadForwarder(cmd.file ?? cmd.program, allow)) {
      out.push(
        `commands.${cmd.name}: "**" lets the agent pass any arguments to ${cmd.program}, which can be told to send its credential elsewhere; list narrow patterns instead (see docs/exec.md)`,
      );
    }
  }
  return out;
}
