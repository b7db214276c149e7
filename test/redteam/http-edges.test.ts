/**
 * Red team of `janee serve --http` (BUILT CLI on 127.0.0.1:0), with raw TCP requests
 * so nothing normalises what we send: Host spellings a rebinding page could produce,
 * Origin null, absolute-form targets, a token in the query string, huge headers, a
 * slow header sender. Each is refused before any tool runs; nothing reaches the upstream.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, runJanee, type JaneeEnv } from '../helpers/cli.js';
import { addAgent, startHttpServe, stopAllHttpServes, type HttpServe } from '../helpers/http.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let up: Upstream;
let env: JaneeEnv;
let serve: HttpServe;
let token: string;
let port: number;

const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** One raw HTTP/1.1 exchange; the status line's code (0 if the server closed without one). */
function raw(head: string, body = initialize): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('error', () => undefined); // a reset after the answer (node refusing a huge header) ends it too
    s.on('close', () => {
      const text = Buffer.concat(parts).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
    s.write(
      `${head}content-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}

beforeAll(async () => {
  up = await startUpstream();
  env = await initHome();
  const r = await runJanee(['add', 'api', '--base-url', up.url, '--auth', 'bearer', '--key-stdin'], {
    env,
    input: 'sk_test_edges_0123456789\n',
  });
  expect(r.code, r.stderr).toBe(0);
  token = await addAgent(env, 'ci');
  serve = await startHttpServe(env);
  port = Number(new URL(serve.url).port);
}, 60_000);

afterAll(async () => {
  await stopAllHttpServes();
  await up?.close();
  await cleanupTempHomes();
});

describe('serve --http edges', { timeout: 60_000 }, () => {
  it('the good request is accepted (the harness works)', async () => {
    const r = await raw(`POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nauthorization: Bearer ${token}\r\n`);
    expect(r.status).toBe(200);
  });

  it('Host spellings that are not this server are 403, even with a good token', async () => {
    for (const host of [
      `127.0.0.1.nip.io:${port}`,
      `localhost.:${port}`,
      `[::ffff:127.0.0.1]:${port}`,
      `127.1:${port}`,
      `2130706433:${port}`,
      `127.0.0.1:${port}.evil.example`,
      `127.0.0.1`,
      `evil.example`,
    ]) {
      const r = await raw(`POST /mcp HTTP/1.1\r\nhost: ${host}\r\nauthorization: Bearer ${token}\r\n`);
      expect([host, r.status]).toEqual([host, 403]);
    }
  });

  it('Origin null and a look-alike origin are 403', async () => {
    for (const origin of ['null', `http://127.0.0.1:${port}`, 'http://localhost']) {
      const r = await raw(`POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\norigin: ${origin}\r\nauthorization: Bearer ${token}\r\n`);
      expect([origin, r.status]).toEqual([origin, 403]);
    }
  });

  it('an absolute-form target, a token in the query string, or a lower-case scheme without a token are not let in', async () => {
    expect(
      (await raw(`POST http://127.0.0.1:${port}/mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nauthorization: Bearer ${token}\r\n`)).status,
    ).toBe(404);
    expect((await raw(`POST /mcp?access_token=${token} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n`)).status).toBe(401);
    expect(
      (
        await raw(
          `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nauthorization: Basic ${Buffer.from(`x:${token}`).toString('base64')}\r\n`,
        )
      ).status,
    ).toBe(401);
  });

  it('a 64 KiB header is refused by node (431 or a reset) and serve keeps answering', async () => {
    const r = await raw(
      `POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nx-big: ${'a'.repeat(65536)}\r\nauthorization: Bearer ${token}\r\n`,
    );
    expect([0, 431]).toContain(r.status); // 431, or the connection reset before we read it
    expect((await raw(`POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nauthorization: Bearer ${token}\r\n`)).status).toBe(200);
  });

  it('nothing above reached the upstream, and the token is in no output of serve', () => {
    expect(up.requests).toEqual([]);
    expect(serve.stdout() + serve.stderr()).not.toContain(token);
  });
});
