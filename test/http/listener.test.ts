/**
 * serve --http's socket (src/http/listener.ts) on 127.0.0.1:0: a client that sends its
 * request too slowly is cut off with 408, while an answer that takes long (an
 * approval, a slow upstream) is not.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, type Bound } from '../../src/http/listener.js';

const open: Bound[] = [];
afterEach(async () => {
  for (const b of open.splice(0)) {
    b.server.closeAllConnections();
    await new Promise((r) => b.server.close(r));
  }
});

async function server(): Promise<Bound> {
  const b = await listen({ host: '127.0.0.1', port: 0, requestTimeoutMs: 400 }, (req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.end('late answer'), 1200));
  });
  open.push(b);
  return b;
}

/** Writes `parts` with a pause between them; resolves with what came back when the socket closed or the answer arrived. */
function rawRequest(port: number, parts: string[], pauseMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const send = async (): Promise<void> => {
      for (const p of parts) {
        if (c.destroyed) break;
        c.write(p);
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    };
    const c = net.connect(port, '127.0.0.1', () => void send());
    c.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('late answer')) c.end();
    });
    c.on('error', reject);
    c.on('close', () => resolve(got));
  });
}

describe('listen', () => {
  it('a body sent too slowly gets 408; a slow answer to a whole request is not cut', async () => {
    const { port } = await server();
    const head = 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 6\r\n\r\n';
    const slow = await rawRequest(port, [head, 'ab', 'cd', 'ef'], 500);
    expect(slow.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    const whole = await rawRequest(port, [`${head}abcdef`], 0);
    expect(whole.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(whole).toContain('late answer');
  });
});
