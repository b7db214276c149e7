/**
 * The ≤ 250 ms memory of accepted tokens in `serve --http` (src/http/auth-cache.ts):
 * back-to-back requests ask the gate once, an acceptance is never used past its
 * time, refusals are never remembered. The gate here answers from a table that the
 * test changes (revocation), and counts the questions; the end-to-end revocation
 * bounds through a real serve are in serve-http.test.ts and agent-http.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import type { Gate } from '../../src/gate/types.js';
import { AUTH_CACHE_MS, AuthCache } from '../../src/http/auth-cache.js';
import type { TokenAgent } from '../../src/vault/types.js';

function tableGate(table: Map<string, TokenAgent>): { gate: Gate; asked: () => number } {
  let n = 0;
  const gate = {
    authenticate: (token: string | undefined) => {
      n++;
      const a = token === undefined ? undefined : table.get(token);
      return a ? Promise.resolve(a) : Promise.reject(new JaneeError('GATE_UNAUTHORIZED', 'agent token is unknown or revoked'));
    },
  } as unknown as Gate;
  return { gate, asked: () => n };
}

describe('AuthCache', () => {
  it('remembers an acceptance for at most 250 ms, then asks again', async () => {
    expect(AUTH_CACHE_MS).toBeLessThanOrEqual(250);
    let now = 1_000;
    const table = new Map([['janee_at_a', { name: 'a', services: null }]]);
    const { gate, asked } = tableGate(table);
    const cache = new AuthCache(AUTH_CACHE_MS, () => now);
    for (let i = 0; i < 5; i++) expect((await cache.authenticate(gate, 'janee_at_a', 'POST /mcp')).name).toBe('a');
    expect(asked()).toBe(1);
    table.delete('janee_at_a'); // revoked
    now += AUTH_CACHE_MS - 1;
    expect((await cache.authenticate(gate, 'janee_at_a', 'POST /mcp')).name).toBe('a');
    now += 1;
    await expect(cache.authenticate(gate, 'janee_at_a', 'POST /mcp')).rejects.toThrow(/revoked/);
    expect(asked()).toBe(2);
  });

  it('never remembers a refusal, and asks about a missing token every time', async () => {
    const { gate, asked } = tableGate(new Map());
    const cache = new AuthCache(AUTH_CACHE_MS, () => 5);
    for (let i = 0; i < 3; i++) await expect(cache.authenticate(gate, 'janee_at_x', 'POST /mcp')).rejects.toThrow(JaneeError);
    for (let i = 0; i < 3; i++) await expect(cache.authenticate(gate, undefined, 'POST /mcp')).rejects.toThrow(JaneeError);
    expect(asked()).toBe(6);
  });

  it('keeps tokens apart: one token accepted says nothing about another', async () => {
    const table = new Map([['janee_at_a', { name: 'a', services: ['s'] }]]);
    const { gate, asked } = tableGate(table);
    const cache = new AuthCache(AUTH_CACHE_MS, () => 5);
    expect((await cache.authenticate(gate, 'janee_at_a', 'POST /mcp')).services).toEqual(['s']);
    await expect(cache.authenticate(gate, 'janee_at_b', 'POST /mcp')).rejects.toThrow(/revoked/);
    expect(asked()).toBe(2);
  });

  it('with ttl 0 asks the gate on every request', async () => {
    const { gate, asked } = tableGate(new Map([['janee_at_a', { name: 'a', services: null }]]));
    const cache = new AuthCache(0, () => 5);
    await cache.authenticate(gate, 'janee_at_a', 'POST /mcp');
    await cache.authenticate(gate, 'janee_at_a', 'POST /mcp');
    expect(asked()).toBe(2);
  });
});
