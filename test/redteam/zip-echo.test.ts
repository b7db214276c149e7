/**
 * Red team (fourth pass): the key echoed inside a zip archive. Redaction inflates gzip
 * and zlib bodies to look inside, but a zip's entries are raw deflate (no gzip or zlib
 * header), so an export endpoint that returns its request log as a .zip (as many "download
 * logs" APIs do: Java's ZipOutputStream, Node's archiver) handed the agent the injected key:
 * base64 of the archive, which the agent inflates. The BUILT `janee serve` over stdio with
 * the SDK client, a real loopback upstream answering with a zip built here.
 */
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addBearer, cleanupTempHomes, initHome, type JaneeEnv } from '../helpers/cli.js';
import { closeAllServes, findForms, secretForms, startServe, textOf } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const KEY = 'sk_test_Zip0123456789abcdefghijKLMN';

/** A zip archive (local headers, central directory, end record); `descriptor` writes sizes after the data, as streaming writers do. */
function zip(files: { name: string; data: Buffer; method: 0 | 8 }[], descriptor = false): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const body = f.method === 8 ? deflateRawSync(f.data) : f.data;
    const crc = crc32(f.data);
    const name = Buffer.from(f.name);
    const flags = descriptor ? 0x08 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(f.method, 8);
    local.writeUInt32LE(descriptor ? 0 : crc, 14);
    local.writeUInt32LE(descriptor ? 0 : body.length, 18);
    local.writeUInt32LE(descriptor ? 0 : f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const parts = [local, name, body];
    if (descriptor) {
      const d = Buffer.alloc(16);
      d.writeUInt32LE(0x08074b50, 0);
      d.writeUInt32LE(crc, 4);
      d.writeUInt32LE(body.length, 8);
      d.writeUInt32LE(f.data.length, 12);
      parts.push(d);
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(f.method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(f.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    const entry = Buffer.concat(parts);
    locals.push(entry);
    offset += entry.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** What an agent does with the archive it got: inflate every deflated entry (local headers, in order). */
function unzipAll(archive: Buffer): string {
  let out = '';
  let o = 0;
  while (o + 30 <= archive.length && archive.readUInt32LE(o) === 0x04034b50) {
    const start = o + 30 + archive.readUInt16LE(o + 26) + archive.readUInt16LE(o + 28);
    const r = inflateRawSync(archive.subarray(start), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    out += r.buffer.toString('latin1');
    o = start + r.engine.bytesWritten;
    if (archive.readUInt32LE(o) === 0x08074b50) o += 16;
  }
  return out;
}

let up: Upstream;
let env: JaneeEnv;

beforeAll(async () => {
  up = await startUpstream();
  const log = (auth: string | undefined) => Buffer.from(`GET /export HTTP/1.1\nauthorization: ${auth}\nuser-agent: x\n`);
  up.route('/export', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/zip' });
    res.end(zip([{ name: 'requests.log', data: log(req.headers.authorization), method: 8 }]));
  });
  up.route('/export-streamed', (req, res) => {
    res.writeHead(200, { 'content-type': 'application/zip' });
    const files = [
      { name: 'readme.txt', data: Buffer.from('nothing here\n'.repeat(20)), method: 8 as const },
      { name: 'requests.log', data: log(req.headers.authorization), method: 8 as const },
    ];
    res.end(zip(files, true));
  });
  up.route('/export-hidden', (req, res) => {
    // The first entry's header claims a size that covers the second: a walk that trusted it skipped the key.
    const first = { name: 'readme.txt', data: Buffer.from('nothing here\n'), method: 8 as const };
    const archive = zip([first, { name: 'requests.log', data: log(req.headers.authorization), method: 8 }]);
    const secondAt = 30 + first.name.length + deflateRawSync(first.data).length;
    const secondLength = archive.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) - secondAt;
    archive.writeUInt32LE(archive.readUInt32LE(18) + secondLength, 18);
    res.writeHead(200, { 'content-type': 'application/zip' });
    res.end(archive);
  });
  up.route('/export-clean', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/zip' });
    res.end(zip([{ name: 'a.txt', data: Buffer.from('just data\n'.repeat(50)), method: 8 }]));
  });
  env = await initHome();
  await addBearer(env, 'api', up.url, KEY);
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  await up?.close();
  await cleanupTempHomes();
});

describe('a zip archive that holds the key', { timeout: 60_000 }, () => {
  for (const route of ['/export', '/export-streamed', '/export-hidden']) {
    it(`is not handed to the agent (${route})`, async () => {
      const s = await startServe({ env, args: ['--agent', 'rt4'] });
      const r = await s.execute({ service: 'api', method: 'GET', path: route });
      await s.close();
      const text = textOf(r);
      const result = JSON.parse(text) as { body: string; bodyEncoding: string };
      const got = result.bodyEncoding === 'base64' ? Buffer.from(result.body, 'base64') : Buffer.from(result.body);
      const inflated = got.readUInt32LE(0) === 0x04034b50 ? unzipAll(got) : '';
      expect(findForms(inflated, secretForms(KEY)), 'the key, after unzipping what the agent got').toEqual([]);
      expect(findForms(text, secretForms(KEY))).toEqual([]);
    });
  }

  it('a zip without a secret still reaches the agent unchanged', async () => {
    const s = await startServe({ env, args: ['--agent', 'rt4'] });
    const r = await s.execute({ service: 'api', method: 'GET', path: '/export-clean' });
    await s.close();
    const result = JSON.parse(textOf(r)) as { body: string; bodyEncoding: string };
    expect(result.bodyEncoding).toBe('base64');
    expect(unzipAll(Buffer.from(result.body, 'base64'))).toBe('just data\n'.repeat(50));
  });
});
