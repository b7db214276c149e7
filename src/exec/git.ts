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
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

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
  // http.<url>.* keys outrank it all the same; repoConfigRisk refuses those before the run.
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
    ...env,
    JANEE_GIT_ORIGINS: origins.join(' '),
    JANEE_GIT_USERNAME: login.username,
    JANEE_GIT_PASSWORD: login.password,
  };
}

/**
 * What in the repository's own config (which the agent may be able to write) could send
 * the credential elsewhere, or undefined. The command scope does not outrank it here: git
 * takes the most specific URL match first, so `http.<url>.proxy` or `.sslVerify` in
 * .git/config beats our `http.proxy=` and `http.sslVerify=true`; a plain `http.sslCAInfo`
 * or `http.curloptResolve` needs no proxy; `remote.<name>.proxy` outranks http.proxy.
 * So any `http.*` key, and a remote's proxy, outside the command scope is refused. Read
 * with the run's own environment and cwd; unreadable config counts as a risk (fail closed).
 * A repo changed between this check and git's own read is not caught (a narrow race).
 */
export function repoConfigRisk(cwd: string, env: Record<string, string>): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['config', '--list', '--show-scope', '-z'], { cwd, env, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => {
      if (err) return resolve('config could not be read');
      const parts = stdout.split('\0');
      for (let i = 0; i + 1 < parts.length; i += 2) {
        const scope = parts[i] ?? '';
        const key = (parts[i + 1] ?? '').split('\n')[0]!.toLowerCase();
        if (scope !== 'command' && (key.startsWith('http.') || /^remote\..*\.proxy(authmethod)?$/.test(key)))
          return resolve(`${scope} config sets ${key.slice(0, 200)}`);
      }
      resolve(undefined);
    });
  });
}
