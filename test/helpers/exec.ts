/**
 * Helpers for the exec suites: an in-process LocalGate over a real vault with
 * `commands:` in its config.yaml, a git smart-HTTP server (node http running the
 * real `git http-backend` as CGI) that demands a credential, and a /proc sampler
 * that records every process's command line while something runs.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { execBinding } from '../../src/exec/binding.js';
import { LocalGate } from '../../src/gate/gate.js';
import { VaultSecrets } from '../../src/gate/secrets.js';
import { createVaultFile, unlockVaultFile, updateVault } from '../../src/vault/store.js';

const PASSPHRASE = new TextEncoder().encode('exec test helper passphrase');

export interface ExecHome {
  home: string;
  configFile: string;
  gate: LocalGate;
  warnings: string[];
  /** Rewrites config.yaml (the gate re-reads it on the next call). */
  writeConfig(config: Record<string, unknown>): Promise<void>;
}

/**
 * `entries`: name → { token, origin, exec? } stored as `{ fields: { token }, origins:
 * [origin, exec:COMMAND…] }` (`exec`: the commands it is bound to, `janee bind NAME exec:COMMAND`).
 */
export async function execHome(opts: {
  home: string;
  config: Record<string, unknown>;
  entries: Record<string, { token: string; origin: string; exec?: string[] }>;
}): Promise<ExecHome> {
  await fs.mkdir(opts.home, { recursive: true, mode: 0o700 });
  const configFile = path.join(opts.home, 'config.yaml');
  const writeConfig = (c: Record<string, unknown>) => fs.writeFile(configFile, `${JSON.stringify(c, null, 2)}\n`);
  await writeConfig(opts.config);
  const vaultFile = path.join(opts.home, 'vault.janee');
  await createVaultFile(vaultFile, PASSPHRASE, 10);
  const unlocked = await unlockVaultFile(vaultFile, PASSPHRASE);
  const now = new Date().toISOString();
  // Bound as `janee bind NAME exec:COMMAND` binds: to the definition config.yaml has now.
  const commands = (await loadConfig(configFile)).commands;
  const binding = (c: string) => {
    const cmd = commands?.get(c);
    return cmd ? execBinding(cmd) : `exec:${c}`;
  };
  const { vault } = await updateVault(vaultFile, unlocked.fileKey, (data) => {
    for (const [name, e] of Object.entries(opts.entries)) {
      data.entries[name] = {
        fields: { token: e.token },
        origins: [new URL(e.origin).origin, ...(e.exec ?? []).map(binding)],
        created: now,
        updated: now,
      };
    }
  });
  const warnings: string[] = [];
  const gate = new LocalGate({
    configFile,
    auditDir: path.join(opts.home, 'audit'),
    killswitchFile: path.join(opts.home, 'killswitch'),
    secrets: new VaultSecrets(vaultFile, unlocked.fileKey, vault.data),
    warn: (l) => warnings.push(l),
  });
  return { home: opts.home, configFile, gate, warnings, writeConfig };
}

export interface GitServer {
  url: string;
  /** Authorization headers received, in order. */
  auths: (string | undefined)[];
  close(): Promise<void>;
}

/**
 * Serves the bare repositories under `root` over smart HTTP; every request must
 * carry Basic `x-access-token:<token>` (else 401 with a Basic challenge, which is
 * what makes git ask its credential helper). `delayMs` holds each answer back, so
 * a /proc sampler sees git's processes while they run.
 */
export async function startGitServer(root: string, token: string, delayMs = 0): Promise<GitServer> {
  const auths: (string | undefined)[] = [];
  const expected = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  const server = http.createServer((req, res) => {
    auths.push(req.headers.authorization);
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
      res.end('auth required\n');
      return;
    }
    const u = new URL(req.url ?? '/', 'http://x');
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(u.pathname),
        QUERY_STRING: u.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_USER: 'agent',
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(child.stdin);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('close', () => {
      const out = Buffer.concat(chunks);
      let sep = out.indexOf('\r\n\r\n');
      let len = 4;
      if (sep < 0) {
        sep = out.indexOf('\n\n');
        len = 2;
      }
      const head = out.subarray(0, Math.max(0, sep)).toString('latin1');
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim().toLowerCase();
        const v = line.slice(i + 1).trim();
        if (k === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      setTimeout(() => {
        res.writeHead(status, headers);
        res.end(out.subarray(sep + len));
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    auths,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Reads every /proc/<pid>/cmdline (and the names of the processes seen) until
 * stopped: the command lines of all processes alive while something ran.
 */
export function sampleCmdlines(): { stop(): Promise<{ cmdlines: Set<string>; samples: number }> } {
  const cmdlines = new Set<string>();
  let running = true;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      const pids = (await fs.readdir('/proc').catch(() => [] as string[])).filter((n) => /^\d+$/.test(n));
      await Promise.all(
        pids.map(async (pid) => {
          const c = await fs.readFile(`/proc/${pid}/cmdline`).catch(() => undefined);
          if (c && c.length > 0) cmdlines.add(c.toString('latin1').replace(/\0/g, ' '));
        }),
      );
      samples++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { cmdlines, samples };
    },
  };
}

/** True while `pid` exists and is not a zombie. */
export async function processAlive(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Writes an executable shell script `name` into `dir` (made if missing); returns its path. */
export async function writeScript(dir: string, name: string, body: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await fs.writeFile(file, `#!/bin/sh\n${body}`, { mode: 0o755 });
  return file;
}

/** Appends a `commands:` block (its lines, indented as in config.yaml) to the home's config.yaml. */
export async function appendCommands(janeeHome: string, lines: string[]): Promise<void> {
  await fs.appendFile(path.join(janeeHome, 'config.yaml'), ['commands:', ...lines, ''].join('\n'));
}
