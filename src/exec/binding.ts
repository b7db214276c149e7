/**
 * The vault's word on a command: `exec:NAME@<digest>` in a secret's origins says a human
 * (with the passphrase: `janee bind SECRET exec:NAME`) let that secret go to command NAME
 * *as it was defined then*. config.yaml is not trusted, so the digest covers everything in a
 * command's definition that decides what runs and where the secret can go: the program as
 * written, the environment map, the argument patterns, the working directories and the git
 * credential. Change any of them and the binding no longer matches: nothing runs until a
 * human binds again. Timeouts, caps and rate limits only narrow a command, so they are left
 * out. Directories under the home directory are hashed as `~/…`, so a vault shared through
 * dotfiles matches on machines whose home directories differ.
 */
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import type { CommandConfig } from '../config/types.js';

type Definition = Pick<CommandConfig, 'name' | 'program' | 'env' | 'allow' | 'deny' | 'cwd' | 'gitCredential'>;

/** 128 bits of SHA-256 over the definition's canonical JSON, in hex. */
export function commandDigest(cmd: Definition, home = os.homedir()): string {
  const tilde = (p: string) => (p === home ? '~' : p.startsWith(`${home}/`) ? `~${p.slice(home.length)}` : p);
  const canonical = JSON.stringify({
    v: 1,
    name: cmd.name,
    program: cmd.program,
    env: cmd.env.map((e) => [e.name, e.entry, e.field ?? null]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    allow: cmd.allow,
    deny: cmd.deny,
    cwd: cmd.cwd.map(tilde),
    gitCredential: cmd.gitCredential ?? null,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/** The origin string that binds a secret to this definition of the command. */
export function execBinding(cmd: Definition, home?: string): string {
  return `exec:${cmd.name}@${commandDigest(cmd, home)}`;
}

/** True for any binding to command `name`, whichever definition (or none, as janee migrate writes). */
export function isBindingOf(origin: string, name: string): boolean {
  return origin === `exec:${name}` || origin.startsWith(`exec:${name}@`);
}
