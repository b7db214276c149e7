/**
 * The checks `janee doctor` runs. Each says ok / warning / problem / skipped in
 * one line, with a one-line fix for anything not ok. Nothing here prompts, writes
 * janee's files or prints a secret: the vault's contents are read only from an
 * unlocked agent (vault_entries: names and origins, never values) or with a
 * passphrase from JANEE_PASSPHRASE(_FILE); otherwise those checks are skipped.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { connectAgent, type AgentConnection } from '../agent/client.js';
import type { EntryInfo, StatusResult } from '../agent/protocol.js';
import { agentSocketPath, legacySocketPaths, myUid } from '../agent/socket-path.js';
import { verifyAudit } from '../audit/index.js';
import { loadConfig } from '../config/load.js';
import { auditDir, configPath, janeeHome, killswitchPath, vaultPath } from '../config/paths.js';
import type { JaneeConfig } from '../config/types.js';
import { parseBaseUrl } from '../config/url.js';
import { JaneeError } from '../errors.js';
import { describeKillState, readKillswitch } from '../gate/killswitch.js';
import { WARN_BELOW_LOG_N } from '../vault/format.js';
import { readSeen } from '../vault/seen.js';
import { readVaultFile, unlockVaultFile } from '../vault/store.js';
import { git } from './commands/git.js';
import type { Streams } from './io.js';
import { findPassphrase } from './passphrase.js';

type CheckStatus = 'ok' | 'warning' | 'problem' | 'skipped';

export interface Check {
  name: string;
  status: CheckStatus;
  message: string;
  fix?: string;
}

const ok = (name: string, message: string): Check => ({ name, status: 'ok', message });
const warning = (name: string, message: string, fix: string): Check => ({ name, status: 'warning', message, fix });
const problem = (name: string, message: string, fix: string | undefined): Check => ({
  name,
  status: 'problem',
  message,
  ...(fix ? { fix } : {}),
});
const skipped = (name: string, message: string): Check => ({ name, status: 'skipped', message });
const fromError = (name: string, e: unknown): Check =>
  e instanceof JaneeError
    ? problem(name, `${e.message} (${e.code})`, e.hint)
    : problem(name, 'internal error', 'this is a bug; please report it');

/**
 * The environment an MCP client gives `janee serve`: HOME, USER, PATH and the like,
 * plus the JANEE_HOME/JANEE_VAULT/JANEE_CONFIG its config sets (they must be
 * there anyway for serve to find this vault). Everything else is dropped.
 */
function minimalEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const keep = ['HOME', 'USER', 'LOGNAME', 'PATH', 'SHELL', 'JANEE_HOME', 'JANEE_VAULT', 'JANEE_CONFIG'];
  const out: NodeJS.ProcessEnv = {};
  for (const k of keep) if (env[k] !== undefined) out[k] = env[k];
  return out;
}

/** `0644` */
function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * Mode check of one path: group/other write is a problem (anyone could swap it),
 * group/other read of a secret-bearing file is a problem, of the others a warning.
 */
async function modeCheck(name: string, file: string, want: number, secret: boolean): Promise<Check | undefined> {
  let st;
  try {
    st = await fs.stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? undefined
      : problem(name, `cannot check ${file} (${code ?? 'error'})`, 'check the permissions of its directory');
  }
  const uid = myUid();
  if (uid >= 0 && st.uid !== uid)
    return problem(name, `${file} is owned by uid ${st.uid}, not by you (uid ${uid})`, `make it yours: \`chown ${uid} ${file}\` (as root)`);
  const extra = st.mode & 0o077;
  if (extra === 0) return undefined;
  const fix = `chmod ${want.toString(8)} ${file}`;
  const what = `${file} is ${octal(st.mode)}, not ${octal(want)}`;
  if (extra & 0o022) return problem(name, `${what}: others can change it`, fix);
  return secret ? problem(name, `${what}: others can read it`, fix) : warning(name, `${what}: others can read it`, fix);
}

interface DoctorContext {
  io: Streams;
  env: NodeJS.ProcessEnv;
}

export async function runChecks(ctx: DoctorContext): Promise<Check[]> {
  const checks: Check[] = [];
  const env = ctx.env;
  const home = janeeHome(env);
  const configFile = configPath(env);

  // config.yaml
  let config: JaneeConfig | undefined;
  try {
    config = await loadConfig(configFile, { allowMissing: true });
    const exists = await fs.access(configFile).then(
      () => true,
      () => false,
    );
    const n = config.services.size;
    checks.push(
      exists
        ? ok('config', `${configFile}: ${n} service${n === 1 ? '' : 's'}`)
        : warning('config', `there is no ${configFile}`, 'run `janee init`, then add services with `janee add`'),
    );
  } catch (e) {
    checks.push(fromError('config', e));
  }

  // the vault file: parsed without a key
  const vaultFile = vaultPath(config?.vaultPath, env);
  let vaultOk = false;
  try {
    const parsed = await readVaultFile(vaultFile);
    vaultOk = true;
    const logN = parsed.header.scrypt?.logN ?? WARN_BELOW_LOG_N;
    checks.push(
      logN < WARN_BELOW_LOG_N
        ? warning(
            'vault',
            `${vaultFile}: the scrypt work factor is low (log2 N = ${logN})`,
            `raise it with \`janee passwd --work-factor 18\``,
          )
        : ok('vault', `${vaultFile}: header ok`),
    );
  } catch (e) {
    checks.push(fromError('vault', e));
  }

  // file modes
  const modes: Check[] = [];
  const add = (c: Check | undefined) => c && modes.push(c);
  add(await modeCheck('file modes', home, 0o700, false));
  add(await modeCheck('file modes', vaultFile, 0o600, true));
  add(await modeCheck('file modes', configFile, 0o600, false));
  const audit = auditDir(env);
  add(await modeCheck('file modes', audit, 0o700, false));
  for (const f of await fs.readdir(audit).catch(() => [] as string[]))
    add(await modeCheck('file modes', path.join(audit, f), 0o600, false));
  checks.push(...(modes.length ? modes : [ok('file modes', 'home 0700, files 0600 (no group or other access)')]));

  // the agent, as serve started by an MCP client would look for it
  const socket = agentSocketPath(vaultFile, env);
  const clientSocket = agentSocketPath(vaultFile, minimalEnv(env));
  if (socket !== clientSocket) {
    const there = await connectAgent(clientSocket, vaultFile).then(
      (c) => {
        c?.close();
        return c ? `an agent (pid ${c.hello.pid}, ${c.hello.state}) answers there` : 'no agent answers there';
      },
      (e: unknown) => (e instanceof JaneeError ? e.message : 'it cannot be checked'),
    );
    checks.push(
      warning(
        'agent socket',
        `JANEE_AGENT_SOCK puts the agent at ${socket}; an MCP client that does not pass it looks at ${clientSocket} (${there})`,
        `add JANEE_AGENT_SOCK=${socket} to the MCP client's env for janee serve, or unset it here`,
      ),
    );
  }
  let conn: AgentConnection | undefined;
  let agentStatus: StatusResult | undefined;
  try {
    conn = await connectAgent(socket, vaultFile);
    if (conn) agentStatus = await conn.request('status', {}, { timeoutMs: 10_000 });
  } catch (e) {
    checks.push(fromError('agent', e));
  }
  if (agentStatus) {
    const where = `agent pid ${agentStatus.pid} at ${socket}`;
    if (agentStatus.rollback) {
      checks.push(
        problem(
          'agent',
          `${where}: the vault on disk (generation ${agentStatus.rollback.onDisk}) is older than its copy (generation ${agentStatus.rollback.inMemory})`,
          `restore the newer file (e.g. ${vaultFile}.bak), or accept the older one with \`janee vault accept-older\``,
        ),
      );
    } else {
      checks.push(ok('agent', `${where}: ${agentStatus.state}`));
    }
    if (agentStatus.config !== configFile)
      checks.push(
        warning(
          'agent config',
          `the agent uses ${agentStatus.config}, this shell ${configFile}`,
          'run `janee lock && janee unlock` with the config serve uses',
        ),
      );
  } else if (!checks.some((c) => c.name === 'agent')) {
    const legacy = legacySocketPaths(vaultFile, env);
    checks.push(
      legacy.length
        ? warning(
            'agent',
            `no agent at ${socket}; an older janee's socket is at ${legacy[0]}`,
            `stop it with \`JANEE_AGENT_SOCK=${legacy[0]} janee lock\`, then run \`janee unlock\``,
          )
        : ok('agent', `no agent running (the vault is locked; serve says so until \`janee unlock\`)`),
    );
  }

  // origin bindings: needs the vault's contents
  checks.push(...(await originChecks(ctx, config, vaultFile, vaultOk, conn, agentStatus)));
  conn?.close();

  // kill switch
  const kill = await readKillswitch(killswitchPath(env));
  if (kill.error !== undefined)
    checks.push(
      problem(
        'kill switch',
        `the kill switch file is damaged: ${kill.error}; everything is blocked`,
        'run `janee killswitch off --all` (or `janee killswitch on` to keep blocking)',
      ),
    );
  else if (kill.all || kill.services.size)
    checks.push(
      warning(
        'kill switch',
        `on: blocked now: ${describeKillState(kill)}`,
        `lift it with \`janee killswitch off${kill.all ? '' : ` ${[...kill.services].sort().join(' ')}`}\` when you mean to`,
      ),
    );
  else checks.push(ok('kill switch', 'off'));

  // audit chain
  checks.push(await auditCheck(audit, env));

  // git drivers
  checks.push(await gitCheck(vaultFile));

  // this machine's record of the vault generation
  try {
    const rec = await readSeen(vaultFile, env);
    checks.push(
      ok('generation record', rec ? `generation ${rec.generation} seen here (${rec.at})` : 'none yet (first use on this machine)'),
    );
  } catch (e) {
    checks.push(fromError('generation record', e));
  }
  return checks;
}

async function originChecks(
  ctx: DoctorContext,
  config: JaneeConfig | undefined,
  vaultFile: string,
  vaultOk: boolean,
  conn: AgentConnection | undefined,
  agent: StatusResult | undefined,
): Promise<Check[]> {
  const name = 'origins';
  if (!config) return [skipped(name, 'config.yaml does not load')];
  if (!vaultOk) return [skipped(name, 'the vault cannot be read')];
  let entries: Pick<EntryInfo, 'name' | 'origins'>[];
  let source: string;
  try {
    if (conn && agent?.state === 'unlocked') {
      entries = await conn.request('vault_entries', {}, { timeoutMs: 10_000 });
      source = 'from the agent';
    } else {
      const found = await findPassphrase(ctx.io, { noPrompt: true, env: ctx.env });
      if (!found) return [skipped(name, 'skipped (locked): run `janee unlock`, or set JANEE_PASSPHRASE_FILE, to check them')];
      try {
        const vault = await unlockVaultFile(vaultFile, found.passphrase);
        vault.fileKey.fill(0);
        entries = Object.entries(vault.data.entries).map(([n, e]) => ({ name: n, origins: e.origins }));
        source = `with the passphrase from ${found.source === 'file' ? 'JANEE_PASSPHRASE_FILE' : 'JANEE_PASSPHRASE'}`;
      } finally {
        found.passphrase.fill(0);
      }
    }
  } catch (e) {
    return [fromError(name, e)];
  }
  const out: Check[] = [];
  const byName = new Map(entries.map((e) => [e.name, e]));
  for (const svc of config.services.values()) {
    const entry = byName.get(svc.name);
    let origin: string;
    try {
      origin = parseBaseUrl(svc.baseUrl).origin;
    } catch (e) {
      out.push(fromError(name, e));
      continue;
    }
    if (!entry) out.push(warning(name, `${svc.name}: no secret in the vault`, `add it with \`janee set ${svc.name}\``));
    else if (!entry.origins.includes(origin))
      out.push(
        problem(
          name,
          `${svc.name}: the secret is bound to ${entry.origins.join(', ') || 'no origin'}, config.yaml sends it to ${origin}`,
          `if ${origin} is right: \`janee bind ${svc.name} ${origin}\`; else fix baseUrl in config.yaml`,
        ),
      );
  }
  for (const e of entries)
    if (!config.services.has(e.name))
      out.push(
        warning(
          name,
          `${e.name}: a secret with no service in config.yaml`,
          `add the service with \`janee add ${e.name}\`, or remove the secret with \`janee remove ${e.name}\``,
        ),
      );
  if (out.length === 0) out.push(ok(name, `every service's baseUrl is bound to its secret (checked ${source})`));
  return out;
}

async function auditCheck(dir: string, env: NodeJS.ProcessEnv): Promise<Check> {
  const name = 'audit log';
  try {
    await fs.access(dir);
  } catch {
    return ok(name, 'no audit log yet');
  }
  try {
    const r = await verifyAudit(dir, env);
    if (!r.ok) {
      const p = r.problems[0];
      const where = p ? `${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}` : 'see `janee logs verify`';
      return problem(
        name,
        `tampered or damaged: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} (first: ${where})`,
        'run `janee logs verify` for every problem; keep a copy of the directory before changing anything',
      );
    }
    if (r.warnings.length) return warning(name, `${r.entries} entries, chain ok; ${r.warnings[0]}`, 'run `janee logs verify` for details');
    const tail = r.unsigned ? `; ${r.unsigned} after the last signed checkpoint (signed at the next one while unlocked)` : '';
    return ok(name, `${r.entries} entries, chain ok${r.signed ? `, signed up to #${r.signed.seq}` : ''}${tail}`);
  } catch (e) {
    return fromError(name, e);
  }
}

async function gitCheck(vaultFile: string): Promise<Check> {
  const name = 'git drivers';
  const dir = path.dirname(vaultFile);
  // git cannot start in a directory that does not exist (that error would read as "git is missing").
  if (
    !(await fs.stat(dir).then(
      (st) => st.isDirectory(),
      () => false,
    ))
  )
    return skipped(name, `${dir} does not exist`);
  try {
    const top = await git(['rev-parse', '--show-toplevel'], dir).catch((e: unknown) => {
      if (e instanceof JaneeError && e.code === 'GIT_MISSING') return undefined;
      throw e;
    });
    if (!top) return skipped(name, 'git is not installed');
    if (top.code !== 0 || !top.stdout.trim()) return ok(name, 'the vault is not in a git repository');
    const root = top.stdout.trim();
    const missing: string[] = [];
    const attrs = await git(['check-attr', 'diff', 'merge', '--', path.basename(vaultFile)], dir);
    if (!/: diff: janee$/m.test(attrs.stdout)) missing.push('.gitattributes diff=janee');
    if (!/: merge: janee$/m.test(attrs.stdout)) missing.push('.gitattributes merge=janee');
    for (const key of ['diff.janee.textconv', 'merge.janee.driver']) {
      if ((await git(['config', '--get', key], dir)).code !== 0) missing.push(key);
    }
    if (missing.length)
      return warning(
        name,
        `the vault is in the git repository ${root} without janee's drivers (missing: ${missing.join(', ')}): merges would break it`,
        `run \`janee git setup\` in ${root}`,
      );
    return ok(name, `set up in ${root}`);
  } catch (e) {
    return fromError(name, e);
  }
}
