/**
 * `gitCredential: ENTRY`: git gets the entry's token for this one run through a
 * credential helper that lives in the run's temporary HOME (removed afterwards).
 *
 * - The helper is a /bin/sh script with no secret in it; the token reaches it in
 *   an environment variable and leaves it through `printf`, a shell builtin, so
 *   it is in no process's argv and in no file (not the repo's .git/config, which
 *   git never writes credentials to, and not the helper).
 * - git is pointed at it with GIT_CONFIG_COUNT/KEY/VALUE (command-line scope, the
 *   last read): an empty `credential.helper` first clears helpers from any other
 *   config, the repo's included, then ours. The system config is not read
 *   (GIT_CONFIG_NOSYSTEM) and git never prompts (GIT_TERMINAL_PROMPT=0).
 * - The helper answers only for the origins the vault entry is bound to (plus
 *   github.com for an entry bound to https://api.github.com: GitHub serves git
 *   and its API from different hosts), so a remote pointed elsewhere — by the
 *   agent or by a repo's config — gets no credential. config.yaml cannot widen
 *   that: the binding is in the vault.
 * - But every program git starts has the token in its environment, so git may
 *   start none a repository chooses: only http(s) transports (GIT_ALLOW_PROTOCOL;
 *   a local path would run git-receive-pack under another repository's config),
 *   and the run is refused before git starts when the repository's config sets
 *   any key outside a short allowlist (repoConfigRisk).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { isLoopbackHost } from '../config/url.js';
import { matches, parsePattern, splitArgs, type Pattern } from './pattern.js';

const HELPER = `#!/bin/sh
# janee: git credential helper for one exec run (no secret in this file)
[ "$1" = get ] || exit 0
proto=
host=
while IFS= read -r line; do
  case "$line" in
    protocol=*) proto=\${line#protocol=} ;;
    host=*) host=\${line#host=} ;;
    '') break ;;
  esac
done
# Only for the repository janee checked (JANEE_GIT_DIR): git sets GIT_DIR for its remote
# helper, relative to its cwd. A submodule or nested repository has its own config, which
# nobody checked; it gets nothing.
if [ -n "$JANEE_GIT_DIR" ]; then
  d=$(cd "\${GIT_DIR:-/nonexistent}" 2>/dev/null && pwd -P) || exit 0
  [ "$d" = "$JANEE_GIT_DIR" ] || exit 0
fi
for origin in $JANEE_GIT_ORIGINS; do
  if [ "$proto://$host" = "$origin" ]; then
    printf 'username=%s\\npassword=%s\\n' "$JANEE_GIT_USERNAME" "$JANEE_GIT_PASSWORD"
    exit 0
  fi
done
exit 0
`;

/** The origins git may get the credential for, from the entry's bound origins. */
export function gitOrigins(bound: readonly string[]): string[] {
  const out = new Set<string>();
  for (const o of bound) {
    // Origins are URL.origin forms; a space would split the helper's list.
    if (!/^https?:\/\/[^\s]+$/.test(o)) continue; // exec:… bindings are not places git may send it
    out.add(o);
    if (o === 'https://api.github.com') out.add('https://github.com');
  }
  return [...out];
}

/**
 * GIT_ALLOW_PROTOCOL for the run: https, and http when a bound origin is plain http (which
 * janee allows only on loopback). No local path, file://, ssh or remote helper of another
 * name: those run programs in repositories or on hosts the agent may choose (a local
 * repository's config, ssh's command), with the credential in their environment. Neither
 * config nor the agent's arguments can widen it (git reads it before protocol.*.allow).
 */
export function gitProtocols(origins: readonly string[]): string {
  const http = origins.some((o) => {
    try {
      const u = new URL(o);
      return u.protocol === 'http:' && isLoopbackHost(u.hostname);
    } catch {
      return false;
    }
  });
  return http ? 'https:http' : 'https';
}

/** User name and password git sends for the entry's fields. */
export function gitLogin(fields: Record<string, string>): { username: string; password: string } | undefined {
  if (typeof fields.token === 'string' && fields.token !== '') return { username: 'x-access-token', password: fields.token };
  if (typeof fields.password === 'string' && typeof fields.username === 'string')
    return { username: fields.username, password: fields.password };
  return undefined;
}

/** Writes the helper into `home` and returns the environment that makes git use it. */
export async function gitCredentialEnv(
  home: string,
  login: { username: string; password: string },
  origins: readonly string[],
): Promise<Record<string, string>> {
  const helper = path.join(home, '.janee-git-credential');
  await fs.writeFile(helper, HELPER, { mode: 0o700, flag: 'wx' });
  const noHooks = path.join(home, '.janee-no-hooks');
  await fs.mkdir(noHooks, { mode: 0o700 });
  // Command scope outranks the repository's config for these keys: what a repo (which
  // the agent may be able to write) could use to run code beside the credential, or to
  // send it through a proxy or past TLS checks, is switched off for this run. Per-URL
  // http.<url>.* keys outrank it all the same; repoConfigRisk refuses those (and every
  // other key it does not know to be inert) before the run.
  const config: [string, string][] = [
    ['credential.helper', ''],
    ['credential.helper', helper],
    ['core.hooksPath', noHooks],
    ['core.fsmonitor', 'false'],
    ['http.sslVerify', 'true'],
    ['http.proxy', ''],
    ['protocol.ext.allow', 'never'],
  ];
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(config.length) };
  config.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return {
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: gitProtocols(origins),
    ...env,
    JANEE_GIT_ORIGINS: origins.join(' '),
    JANEE_GIT_USERNAME: login.username,
    JANEE_GIT_PASSWORD: login.password,
  };
}

/**
 * git's global options (before the subcommand) that do not change which repository,
 * config or programs git uses. Every other one is refused for a run with the credential:
 * `-C DIR`, `--git-dir`, `--work-tree` and `--bare` make git read a repository (and its
 * config) janee did not check, `-c`/`--config-env` add config of the agent's own (a
 * per-URL proxy outranks janee's), `--exec-path` picks the directory git runs its remote
 * helpers from, and options git adds later may do the same.
 */
const SAFE_GLOBAL_OPTIONS = new Set([
  '--no-pager',
  '-P',
  '-p',
  '--paginate',
  '--no-replace-objects',
  '--no-lazy-fetch',
  '--no-optional-locks',
  '--no-advice',
  '--literal-pathspecs',
  '--glob-pathspecs',
  '--noglob-pathspecs',
  '--icase-pathspecs',
  '--version',
  '-v',
  '--help',
  '-h',
]);

/**
 * `git clone` options that write the new repository's config (which janee cannot check: it
 * does not exist yet), matched as a deny pattern is (any abbreviation, `=value`, clusters).
 */
const CLONE_DENY = ['--template', '--config', '-c', '--separate-git-dir'].map((o) => ({ o, p: parsePattern(`** ${o} **`) as Pattern }));

/**
 * The first global option (before the subcommand) outside SAFE_GLOBAL_OPTIONS, or a
 * `clone` option that writes the new repository's config; undefined when there is none.
 */
export function riskyGlobalOption(args: readonly string[]): string | undefined {
  for (const [i, a] of args.entries()) {
    if (!a.startsWith('-')) {
      // The subcommand: what follows is its own.
      if (a !== 'clone') return undefined;
      const rest = splitArgs(args.slice(i + 1));
      const deny = CLONE_DENY.find(({ p }) => matches(p, rest, 'deny'));
      return deny === undefined ? undefined : `clone ${deny.o}`;
    }
    if (!SAFE_GLOBAL_OPTIONS.has(a)) return a;
  }
  return undefined;
}

/**
 * The real path of the git directory of the repository in `cwd` (git's own answer, with the
 * run's environment), or '' when `cwd` is in none. The helper answers only for it.
 */
export function gitDirOf(cwd: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', '--absolute-git-dir'], { cwd, env, timeout: CONFIG_READ_MS, killSignal: 'SIGKILL' }, (err, stdout) => {
      if (err) return resolve('');
      fs.realpath(stdout.replace(/\n$/, '')).then(resolve, () => resolve(''));
    });
  });
}

/** Where the repository's config sets a key janee does not allow beside the credential. */
export interface RepoConfigRisk {
  /** `local`, `worktree`, … as git names the scope (an included file has its includer's). */
  scope: string;
  /** The file that sets it (git's --show-origin, without `file:`). */
  file: string;
  /** As git lists it (section and name lowercased); empty when the config could not be read. */
  key: string;
}

/**
 * The only keys the repository's own config (which the agent may be able to write) may
 * set for a run with the credential: those a fresh `git init`, `git clone` (partial and
 * sparse ones too), `git remote add`, `git push -u` or `git worktree add` write, none of
 * which names a program or a host to go through. Everything else — core.sshCommand,
 * core.askPass, core.alternateRefsCommand, filter.*, diff.*.textconv, merge.*.driver,
 * gpg.program, url.*.insteadOf, remote.*.vcs/uploadpack/receivepack/proxy, http.*,
 * credential.*, include.path, includeIf.* — and any key git adds later is refused.
 */
const SAFE_KEYS: readonly RegExp[] = [
  /^core\.(repositoryformatversion|filemode|bare|logallrefupdates|ignorecase|precomposeunicode|symlinks|sharedrepository|sparsecheckout|sparsecheckoutcone|autocrlf|eol|safecrlf)$/,
  /^remote\..+\.(url|pushurl|fetch|push|tagopt|prune|prunetags|mirror|promisor|partialclonefilter)$/s,
  /^branch\..+\.(remote|pushremote|merge|rebase)$/s,
  /^user\.[^.]+$/,
  /^extensions\.[^.]+$/,
  // Preferences people set per repository that steer git itself, never another program.
  /^(pull\.(rebase|ff)|fetch\.(prune|prunetags|parallel)|push\.(default|autosetupremote|followtags)|init\.defaultbranch)$/,
  /^(advice\.[^.]+|color\.(ui|branch|diff|status))$/,
];

export const safeRepoKey = (key: string): boolean => SAFE_KEYS.some((re) => re.test(key));

/** How long the config may take to list (milliseconds; it takes a few). */
const CONFIG_READ_MS = 5_000;

/**
 * The first key outside SAFE_KEYS in any config git reads for a run here but janee's own
 * command scope (the repository's .git/config, its worktree config, files they include,
 * and the temporary HOME's, which is empty), or undefined. Read by git itself with the
 * run's environment and cwd, so it sees what the run would; unreadable or unparsable
 * output counts as a risk (fail closed). A repository changed between this check and
 * git's own read is not caught (a narrow race).
 */
export function repoConfigRisk(cwd: string, env: Record<string, string>): Promise<RepoConfigRisk | undefined> {
  const unreadable: RepoConfigRisk = { scope: 'local', file: cwd, key: '' };
  return new Promise((resolve) => {
    const args = ['config', '--list', '--includes', '--show-scope', '--show-origin', '-z'];
    // A time limit: an included file may be a FIFO nobody writes to, and git would wait on it forever.
    execFile('git', args, { cwd, env, maxBuffer: 4 * 1024 * 1024, timeout: CONFIG_READ_MS, killSignal: 'SIGKILL' }, (err, stdout) => {
      if (err) return resolve(unreadable);
      // Each entry: scope NUL origin NUL key LF value NUL.
      const parts = stdout.split('\0');
      if (parts.length % 3 !== 1 || parts[parts.length - 1] !== '') return resolve(unreadable);
      for (let i = 0; i + 2 < parts.length; i += 3) {
        const scope = parts[i]!;
        if (scope === 'command') continue; // janee's own GIT_CONFIG_COUNT entries (the agent cannot set any)
        const key = parts[i + 2]!.split('\n')[0]!;
        if (!safeRepoKey(key)) {
          const origin = parts[i + 1]!;
          return resolve({ scope, file: origin.startsWith('file:') ? origin.slice(5) : origin, key });
        }
      }
      resolve(undefined);
    });
  });
}
