/**
 * Janee 0.x exec capabilities → janee `commands:` (pure).
 *
 * 0.x (0.12+, `janee cap add NAME --mode exec --allow-commands gh --env-map
 * GH_TOKEN={{credential}} --work-dir DIR --timeout MS`) wrote a capability
 *   { service, mode: exec, allowCommands: [gh, …], env: { VAR: "{{credential}}" }, workDir?, timeout? (ms) }
 * and let the agent run any of those programs (matched by the base name of the
 * path the agent sent) with any arguments, the service's secret in VAR. Each
 * program becomes one command named after it: the same variables mapped to the
 * service's vault entry, `allow: ["**"]` (as broad as 0.x was: noted, and warned
 * about at load for programs that can send their environment elsewhere), cwd from
 * workDir, timeoutMs from timeout. git with GH_TOKEN/GITHUB_TOKEN mapped (0.x gave
 * git a GIT_ASKPASS then) gets `gitCredential`. What cannot be said exactly is
 * reported: a template other than exactly {{credential}}, a literal value.
 */
import * as path from 'node:path';
import type { LegacyCapability } from './rules.js';

export interface PlannedCommand {
  name: string;
  program: string;
  /** Variable → vault entry. */
  env: Record<string, string>;
  allow: string[];
  cwd?: string[];
  timeoutMs?: number;
  gitCredential?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const RESERVED_ENV = /^(PATH|HOME|LANG|TMPDIR|JANEE_.*|GIT_.*|LD_.*|DYLD_.*)$/;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const printable = (s: string): string => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);

/**
 * `caps`: every 0.x capability; `imported`: the services janee imports (name → its
 * vault entry has a `token`), `taken`: names already used by services.
 */
export function execCapabilitiesToCommands(
  caps: readonly (LegacyCapability & Record<string, unknown>)[],
  imported: ReadonlyMap<string, { hasToken: boolean }>,
  taken: ReadonlySet<string>,
): { commands: PlannedCommand[]; notes: { service: string; note: string }[] } {
  const commands: PlannedCommand[] = [];
  const notes: { service: string; note: string }[] = [];
  const used = new Set(taken);
  for (const cap of caps) {
    if (cap.mode !== 'exec') continue;
    const where = `capability ${printable(cap.name)} (exec)`;
    const note = (n: string) => notes.push({ service: cap.service, note: `${where}: ${n}` });
    const svc = imported.get(cap.service);
    if (!svc) {
      note(`its service ${printable(cap.service)} was not imported, so its commands were not either`);
      continue;
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(isObj(cap['env']) ? cap['env'] : {})) {
      if (!ENV_NAME.test(k) || RESERVED_ENV.test(k))
        note(`env ${printable(k)} is a variable janee sets itself or cannot set; not carried over`);
      else if (v === '{{credential}}' && svc.hasToken) env[k] = cap.service;
      else
        note(
          `env ${k} was ${typeof v === 'string' && v.includes('{{') ? 'a template' : 'a fixed value'}; janee maps only a whole vault secret to a variable, so it was not carried over`,
        );
    }
    const programs = Array.isArray(cap['allowCommands']) ? cap['allowCommands'] : [];
    for (const p of programs) {
      if (typeof p !== 'string' || p === '') continue;
      const base = path.basename(p);
      let name = base;
      if (!NAME.test(name) || used.has(name)) name = `${cap.name}-${base}`;
      if (!NAME.test(name) || used.has(name) || /[\s\u0000-\u001f]/.test(base)) {
        note(`program ${printable(p)}: no usable command name for it; add it under commands: by hand`);
        continue;
      }
      used.add(name);
      const cmd: PlannedCommand = { name, program: base, env: { ...env }, allow: ['**'] };
      const workDir = cap['workDir'];
      if (typeof workDir === 'string' && path.isAbsolute(workDir)) cmd.cwd = [workDir];
      else if (workDir !== undefined)
        note(`workDir ${typeof workDir === 'string' ? printable(workDir) : '(not a string)'} is not an absolute path; not carried over`);
      const timeout = cap['timeout'];
      if (typeof timeout === 'number' && Number.isInteger(timeout) && timeout >= 1 && timeout <= 3_600_000) cmd.timeoutMs = timeout;
      if (base === 'git' && (env['GH_TOKEN'] !== undefined || env['GITHUB_TOKEN'] !== undefined)) cmd.gitCredential = cap.service;
      commands.push(cmd);
      note(
        `${base} became commands.${name} with allow: ["**"], any arguments, as in 0.x; list the argument patterns it needs instead (docs/exec.md)` +
          (cmd.cwd ? '' : '; it runs in a temporary directory unless cwd: lists directories (0.x used serve’s working directory)'),
      );
    }
  }
  return { commands, notes };
}

/** `exec:COMMAND` for each planned command that hands `entry` to its program. */
export function execBindings(commands: readonly PlannedCommand[], entry: string): string[] {
  return commands.filter((c) => Object.values(c.env).includes(entry) || c.gitCredential === entry).map((c) => `exec:${c.name}`);
}

/** A plain object for the YAML document, in the key order docs/exec.md uses. */
export function commandObject(c: PlannedCommand): Record<string, unknown> {
  return {
    program: c.program,
    ...(Object.keys(c.env).length ? { env: c.env } : {}),
    allow: c.allow,
    ...(c.cwd ? { cwd: c.cwd } : {}),
    ...(c.gitCredential ? { gitCredential: c.gitCredential } : {}),
    ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}),
  };
}
