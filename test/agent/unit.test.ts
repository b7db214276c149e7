/**
 * Socket path, directory and socket checks, and the protocol's pure parts.
 * Real directories, real sockets; no mocks.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentSocketPath, checkSocketDir, checkSocketFile, vaultId } from '../../src/agent/socket-path.js';
import { LineSplitter, PROTOCOL_VERSION, errorFromBody, errorResponse, formatDuration, parseDuration } from '../../src/agent/protocol.js';
import { JaneeError } from '../../src/errors.js';

const made: string[] = [];
afterAll(async () => {
  for (const d of made) await fsp.rm(d, { recursive: true, force: true });
});
async function tmp(): Promise<string> {
  const d = await fsp.mkdtemp(path.join(os.tmpdir(), 'janee-agent-unit-'));
  made.push(d);
  return d;
}
const isRoot = process.getuid?.() === 0;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(JaneeError);
    expect((e as JaneeError).hint).toBeTruthy();
    return (e as JaneeError).code;
  }
  return 'no error';
}

describe('socket path', () => {
  it('JANEE_AGENT_SOCK wins, else /tmp/janee-<uid>/<id>.sock whatever XDG_RUNTIME_DIR and TMPDIR say', async () => {
    const d = await tmp();
    const vault = path.join(d, 'vault.janee');
    await fsp.writeFile(vault, 'x');
    const id = createHash('sha256').update(fs.realpathSync(vault)).digest('hex').slice(0, 12);
    expect(vaultId(vault)).toBe(id);
    expect(agentSocketPath(vault, { JANEE_AGENT_SOCK: '/x/y.sock', XDG_RUNTIME_DIR: '/run/user/1' })).toBe('/x/y.sock');
    const def = `/tmp/janee-${process.getuid?.()}/${id}.sock`;
    expect(agentSocketPath(vault, {})).toBe(def);
    // What a terminal on a systemd desktop or on macOS has, and an MCP client filters out:
    expect(agentSocketPath(vault, { XDG_RUNTIME_DIR: '/run/user/1', TMPDIR: '/var/folders/xy/T/' })).toBe(def);
  });

  it('the id follows the real path: a symlink to the vault gets the same agent', async () => {
    const d = await tmp();
    const vault = path.join(d, 'vault.janee');
    await fsp.writeFile(vault, 'x');
    await fsp.symlink(vault, path.join(d, 'link.janee'));
    expect(vaultId(path.join(d, 'link.janee'))).toBe(vaultId(vault));
    expect(vaultId(path.join(d, 'other.janee'))).not.toBe(vaultId(vault));
  });
});

describe('socket directory checks', () => {
  it('creates the directory 0700 and accepts it', async () => {
    const d = await tmp();
    const sock = path.join(d, 'janee', 'a.sock');
    expect(await checkSocketDir(sock, { create: false })).toBe(false);
    expect(await checkSocketDir(sock, { create: true })).toBe(true);
    expect((await fsp.stat(path.dirname(sock))).mode & 0o777).toBe(0o700);
  });

  it('refuses group/other permissions (0755, 0750, 0701) with AGENT_UNSAFE_DIR', async () => {
    for (const mode of [0o755, 0o750, 0o701]) {
      const d = await tmp();
      const dir = path.join(d, 'janee');
      await fsp.mkdir(dir);
      await fsp.chmod(dir, mode);
      expect(await code(checkSocketDir(path.join(dir, 'a.sock'), { create: true }))).toBe('AGENT_UNSAFE_DIR');
      expect(await code(checkSocketDir(path.join(dir, 'a.sock'), { create: false }))).toBe('AGENT_UNSAFE_DIR');
      // and leaves it as it was
      expect((await fsp.stat(dir)).mode & 0o777).toBe(mode);
    }
  });

  it('refuses a symlinked directory and a file in its place', async () => {
    const d = await tmp();
    const real = path.join(d, 'real');
    await fsp.mkdir(real, { mode: 0o700 });
    await fsp.symlink(real, path.join(d, 'janee'));
    expect(await code(checkSocketDir(path.join(d, 'janee', 'a.sock'), { create: true }))).toBe('AGENT_UNSAFE_DIR');
    const d2 = await tmp();
    await fsp.writeFile(path.join(d2, 'janee'), 'x');
    expect(await code(checkSocketDir(path.join(d2, 'janee', 'a.sock'), { create: true }))).toBe('AGENT_UNSAFE_DIR');
  });

  it.skipIf(!isRoot)('refuses a directory owned by another user', async () => {
    const d = await tmp();
    const dir = path.join(d, 'janee');
    await fsp.mkdir(dir, { mode: 0o700 });
    await fsp.chown(dir, 65534, 65534);
    expect(await code(checkSocketDir(path.join(dir, 'a.sock'), { create: true }))).toBe('AGENT_UNSAFE_DIR');
  });

  it('refuses a socket path too long for sun_path', async () => {
    expect(await code(checkSocketDir(`/tmp/${'x'.repeat(120)}/a.sock`, { create: false }))).toBe('AGENT_SOCKET_PATH');
  });
});

describe('socket file checks', () => {
  it('missing → missing; our 0600 socket → socket', async () => {
    const d = await tmp();
    const sock = path.join(d, 'a.sock');
    expect(await checkSocketFile(sock)).toBe('missing');
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(sock, r));
    await fsp.chmod(sock, 0o600);
    expect(await checkSocketFile(sock)).toBe('socket');
    await fsp.chmod(sock, 0o666);
    expect(await code(checkSocketFile(sock))).toBe('AGENT_UNSAFE_SOCKET');
    await new Promise<void>((r) => srv.close(() => r()));
  });

  it('a regular file or a symlink where the socket should be is refused', async () => {
    const d = await tmp();
    await fsp.writeFile(path.join(d, 'a.sock'), '');
    expect(await code(checkSocketFile(path.join(d, 'a.sock')))).toBe('AGENT_UNSAFE_SOCKET');
    await fsp.symlink(path.join(d, 'a.sock'), path.join(d, 'b.sock'));
    expect(await code(checkSocketFile(path.join(d, 'b.sock')))).toBe('AGENT_UNSAFE_SOCKET');
  });

  it.skipIf(!isRoot)('a socket owned by another uid is refused', async () => {
    const d = await tmp();
    const sock = path.join(d, 'a.sock');
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(sock, r));
    await fsp.chmod(sock, 0o600);
    await fsp.lchown(sock, 65534, 65534);
    expect(await code(checkSocketFile(sock))).toBe('AGENT_UNSAFE_SOCKET');
    await new Promise<void>((r) => srv.close(() => r()));
  });
});

describe('protocol pieces', () => {
  it('LineSplitter joins split lines, splits many per chunk, and refuses overlong lines', () => {
    const s = new LineSplitter(10);
    expect(s.push(Buffer.from('ab'))).toEqual([]);
    expect(s.push(Buffer.from('c\nde\nf'))).toEqual(['abc', 'de']);
    expect(s.push(Buffer.from('\n'))).toEqual(['f']);
    expect(s.push(Buffer.from('0123456789\n'))).toEqual(['0123456789']);
    expect(s.push(Buffer.from('0123456789A'))).toEqual([]);
    expect(s.overflow).toBe(true);
    const t = new LineSplitter(10);
    t.push(Buffer.from('01234'));
    t.push(Buffer.from('56789'));
    expect(t.push(Buffer.from('X\n'))).toEqual([]);
    expect(t.overflow).toBe(true);
  });

  it('a multi-byte character split across chunks survives', () => {
    const s = new LineSplitter();
    const b = Buffer.from('{"x":"é€"}\n');
    expect([...s.push(b.subarray(0, 8)), ...s.push(b.subarray(8))]).toEqual(['{"x":"é€"}']);
  });

  it('durations: 30s 15m 8h 1d; anything else is undefined', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('8h')).toBe(28_800_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    for (const bad of ['', '8', 'h', '-1s', '1.5h', '1w', '8 h', '1e3s']) expect(parseDuration(bad), bad).toBeUndefined();
    expect(formatDuration(28_800_000)).toBe('8h');
    expect(formatDuration(90_000)).toBe('1m30s');
  });

  it('errors cross as { code, message, hint } and never as raw exception text', () => {
    const r = errorResponse(3, new Error('secret sk_live_123 inside'));
    expect(r).toEqual({
      v: PROTOCOL_VERSION,
      id: 3,
      ok: false,
      error: { code: 'AGENT_INTERNAL', message: 'internal error in the agent', hint: expect.any(String) },
    });
    expect(JSON.stringify(r)).not.toContain('sk_live');
    const e = errorFromBody({ code: 'GATE_LOCKED', message: 'vault is locked', hint: 'run janee unlock' });
    expect(e).toBeInstanceOf(JaneeError);
    expect(e.code).toBe('GATE_LOCKED');
    expect(e.hint).toBe('run janee unlock');
  });
});
