import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import {
  describeKillState,
  formatKillswitch,
  isKilled,
  KillswitchWatcher,
  parseKillswitch,
  readKillswitch,
  setKillswitch,
} from '../../src/gate/killswitch.js';

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'janee-ks-'));
  file = path.join(dir, 'home', 'killswitch');
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('format', () => {
  it('parses names, *, comments, blank lines and CRLF', () => {
    expect(parseKillswitch('# c\n\nstripe\r\n  github  \n')).toEqual({ all: false, services: new Set(['stripe', 'github']) });
    expect(parseKillswitch('stripe\n*\n').all).toBe(true);
  });

  it('a file with no entries blocks everything (touch = emergency stop)', () => {
    expect(parseKillswitch('').all).toBe(true);
    expect(parseKillswitch('# only a comment\n').all).toBe(true);
  });

  it('garbage fails closed and says why', () => {
    const s = parseKillswitch('stripe\nnot a name!\n');
    expect(s.all).toBe(true);
    expect(s.error).toContain('line 2');
  });

  it('round-trips', () => {
    const st = { all: false, services: new Set(['b', 'a']) };
    expect(parseKillswitch(formatKillswitch(st))).toEqual(st);
    const both = { all: true, services: new Set(['b', 'a']) };
    expect(parseKillswitch(formatKillswitch(both))).toEqual(both);
    expect(formatKillswitch(st)).toMatch(/^# janee kill switch.*\n#.*\na\nb\n$/);
  });
});

describe('read / set', () => {
  it('no file: nothing blocked', async () => {
    const s = await readKillswitch(file);
    expect(s).toEqual({ all: false, services: new Set() });
    expect(isKilled(s, 'stripe')).toBe(false);
  });

  it('on/off for services and for all; the file goes away when nothing is blocked', async () => {
    let s = await setKillswitch(file, true, ['stripe']);
    expect(isKilled(s, 'stripe')).toBe(true);
    expect(isKilled(s, 'github')).toBe(false);
    s = await setKillswitch(file, true, ['github']);
    expect([...s.services].sort()).toEqual(['github', 'stripe']);
    expect(await readKillswitch(file)).toEqual(s);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);

    await setKillswitch(file, false, ['stripe']);
    expect(isKilled(await readKillswitch(file), 'stripe')).toBe(false);
    expect(isKilled(await readKillswitch(file), 'github')).toBe(true);
    await setKillswitch(file, false, ['github']);
    await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });

    s = await setKillswitch(file, true, []);
    expect(s.all).toBe(true);
    expect(isKilled(await readKillswitch(file), 'anything')).toBe(true);
    expect(await fs.readFile(file, 'utf8')).toMatch(/\n\*\n$/);
    await setKillswitch(file, false, []);
    await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    const left = await fs.readdir(path.dirname(file));
    expect(left).toEqual([]); // no .bak, no lock, no temp files
  });

  it('the global switch and per-service blocks are independent: global off keeps stripe, off stripe keeps the global switch', async () => {
    await setKillswitch(file, true, ['stripe', 'github']);
    let s = await setKillswitch(file, true, []);
    expect(s).toEqual({ all: true, services: new Set(['stripe', 'github']) });
    expect(await readKillswitch(file)).toEqual(s); // the file keeps the service lines beside "*"
    expect(describeKillState(s)).toBe('everything (and on their own: github, stripe)');

    s = await setKillswitch(file, false, ['stripe']); // was refused (KILLSWITCH_ALL) before
    expect(s).toEqual({ all: true, services: new Set(['github']) });
    expect(isKilled(await readKillswitch(file), 'stripe')).toBe(true); // the global switch still holds

    s = await setKillswitch(file, false, []); // global off: github stays blocked
    expect(s).toEqual({ all: false, services: new Set(['github']) });
    expect(await readKillswitch(file)).toEqual(s);
    expect(isKilled(s, 'stripe')).toBe(false);
    expect(isKilled(s, 'github')).toBe(true);
    expect(describeKillState(s)).toBe('github');

    await setKillswitch(file, true, []);
    s = await setKillswitch(file, false, [], { everything: true });
    expect(describeKillState(s)).toBe('nothing');
    await expect(fs.stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reads files written by the previous format ("*" alone, names alone, empty)', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const oldHeader =
      '# janee kill switch: calls to the services below are blocked while this file exists.\n# One service name per line; "*" blocks every service. Remove with: janee killswitch off\n';
    await fs.writeFile(file, `${oldHeader}*\n`);
    expect(await readKillswitch(file)).toEqual({ all: true, services: new Set() });
    expect((await setKillswitch(file, true, ['stripe'])).all).toBe(true);
    await fs.writeFile(file, `${oldHeader}stripe\ngithub\n`);
    expect(await readKillswitch(file)).toEqual({ all: false, services: new Set(['stripe', 'github']) });
    expect(await setKillswitch(file, false, ['github'])).toEqual({ all: false, services: new Set(['stripe']) });
  });

  it('a damaged file is only replaced by off --all (its service lines cannot be kept)', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, 'stripe\nnot a name!\n');
    await expect(setKillswitch(file, false, [])).rejects.toMatchObject({ code: 'KILLSWITCH_DAMAGED' });
    await expect(setKillswitch(file, true, ['x'])).rejects.toMatchObject({ code: 'KILLSWITCH_DAMAGED' });
    expect((await readKillswitch(file)).all).toBe(true);
    expect(await setKillswitch(file, false, [], { everything: true })).toEqual({ all: false, services: new Set() });
  });

  it('rejects bad service names', async () => {
    await expect(setKillswitch(file, true, ['bad\nname'])).rejects.toBeInstanceOf(JaneeError);
    await expect(setKillswitch(file, true, ['*'])).rejects.toBeInstanceOf(JaneeError);
  });

  it('a corrupt or unreadable file fails closed', async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, 'stripe\n\u0000\u0001garbage\n');
    let s = await readKillswitch(file);
    expect(s.all).toBe(true);
    expect(s.error).toBeDefined();
    await fs.rm(file);
    await fs.mkdir(file); // a directory where the file should be
    s = await readKillswitch(file);
    expect(s.all).toBe(true);
    expect(s.error).toMatch(/cannot be read/);
    await fs.rmdir(file);
    await fs.writeFile(file, 'a\n'.repeat(40_000));
    expect((await readKillswitch(file)).error).toMatch(/larger than/);
  });

  it('concurrent writers do not lose each other (read-modify-write under the lock)', async () => {
    const names = ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'];
    await Promise.all(names.map((n) => setKillswitch(file, true, [n])));
    expect([...(await readKillswitch(file)).services].sort()).toEqual(names);
  });
});

describe('KillswitchWatcher', () => {
  it('sees on and off within one second, without a restart', async () => {
    const w = new KillswitchWatcher(file);
    expect(isKilled(await w.current(), 'stripe')).toBe(false);
    await setKillswitch(file, true, ['stripe']);
    const t0 = performance.now();
    while (!isKilled(await w.current(), 'stripe')) {
      expect(performance.now() - t0).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 10));
    }
    await setKillswitch(file, false, ['stripe']);
    const t1 = performance.now();
    while (isKilled(await w.current(), 'stripe')) {
      expect(performance.now() - t1).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 10));
    }
  });

  it('sees a hand edit (in place, same size) and a touch', async () => {
    const w = new KillswitchWatcher(file, { maxAgeMs: 0 });
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, 'aaaa\n');
    expect(isKilled(await w.current(), 'aaaa')).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    await fs.writeFile(file, 'bbbb\n');
    const s = await w.current();
    expect(isKilled(s, 'bbbb')).toBe(true);
    expect(isKilled(s, 'aaaa')).toBe(false);
    await fs.writeFile(file, '');
    expect((await w.current()).all).toBe(true);
  });

  it('serves from cache within maxAgeMs and shares one refresh between concurrent callers', async () => {
    const w = new KillswitchWatcher(file, { maxAgeMs: 60_000 });
    const [a, b] = await Promise.all([w.current(), w.current()]);
    expect(a).toBe(b);
    await setKillswitch(file, true, []);
    expect((await w.current()).all).toBe(false); // cached: by design, until maxAgeMs
  });

  it('a corrupt file makes everything killed, with the reason', async () => {
    const w = new KillswitchWatcher(file, { maxAgeMs: 0 });
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, '???\n');
    const s = await w.current();
    expect(isKilled(s, 'stripe')).toBe(true);
    expect(s.error).toContain(file);
  });
});
