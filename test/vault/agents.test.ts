/**
 * Agent tokens in the vault payload (docs/vault-format.md, "agents"), their merge,
 * and the token lookup the gate uses. Pure: no files.
 */
import { describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import { agentRecord, deleteAgent, findTokenAgent, hashToken, newToken, putAgent } from '../../src/vault/agents.js';
import { mergeVaultData } from '../../src/vault/merge.js';
import { decodePayload, encodePayload } from '../../src/vault/payload.js';
import type { AgentRecord, VaultData } from '../../src/vault/types.js';

const T = '2026-01-15T09:30:00.000Z';
const str = (b: Uint8Array): string => new TextDecoder().decode(b);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function data(agents?: Record<string, AgentRecord>): VaultData {
  const d: VaultData = { version: 1, generation: 1, entries: {} };
  if (agents) d.agents = agents;
  return d;
}

function rec(token: string, services: string[] | null = null, expires: string | null = null): AgentRecord {
  return { hash: hashToken(token), services, created: T, expires };
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(JaneeError);
    return (e as JaneeError).code;
  }
  throw new Error('expected a JaneeError');
}

describe('agents in the payload', () => {
  it('a vault without agents encodes exactly as before (no agents key), and an emptied one drops it', () => {
    expect(str(encodePayload(data()))).toBe('{"version":1,"generation":1,"entries":{}}');
    const d = data({ a: rec(newToken()) });
    deleteAgent(d, 'a');
    expect(d.agents).toBeUndefined();
    expect(str(encodePayload({ ...data(), agents: {} }))).toBe('{"version":1,"generation":1,"entries":{}}');
  });

  it('round-trips canonically, agents sorted by name', () => {
    const h = 'a'.repeat(64);
    const text = `{"version":2,"generation":1,"entries":{},"agents":{"a":{"hash":"${h}","services":null,"created":"${T}","expires":null},"b":{"hash":"${'b'.repeat(64)}","services":["github","stripe"],"created":"${T}","expires":"${T}"}}}`;
    const d = decodePayload(utf8(text));
    expect(d.agents?.b?.services).toEqual(['github', 'stripe']);
    expect(str(encodePayload(d))).toBe(text);
    const reversed = { ...d, agents: { b: d.agents?.b as AgentRecord, a: d.agents?.a as AgentRecord } };
    expect(str(encodePayload(reversed))).toBe(text);
  });

  it.each([
    ['version 2 with an empty agents object', '{}'],
    ['bad hash', `{"a":{"hash":"XYZ","services":null,"created":"${T}","expires":null}}`],
    ['unknown key', `{"a":{"hash":"${'a'.repeat(64)}","services":null,"created":"${T}","expires":null,"token":"x"}}`],
    ['empty services', `{"a":{"hash":"${'a'.repeat(64)}","services":[],"created":"${T}","expires":null}}`],
    ['duplicate service', `{"a":{"hash":"${'a'.repeat(64)}","services":["x","x"],"created":"${T}","expires":null}}`],
    ['bad expiry', `{"a":{"hash":"${'a'.repeat(64)}","services":null,"created":"${T}","expires":"tomorrow"}}`],
    ['bad name', `{"a b":{"hash":"${'a'.repeat(64)}","services":null,"created":"${T}","expires":null}}`],
    [
      'two agents, one hash',
      `{"a":{"hash":"${'a'.repeat(64)}","services":null,"created":"${T}","expires":null},"b":{"hash":"${'a'.repeat(64)}","services":null,"created":"${T}","expires":null}}`,
    ],
  ])('refuses %s', (_what, agents) => {
    expect(code(() => decodePayload(utf8(`{"version":2,"generation":1,"entries":{},"agents":${agents}}`)))).toBe('VAULT_BAD_PAYLOAD');
  });

  it('agents only in version 2, and version 2 only with agents', () => {
    const one = `{"a":{"hash":"${'a'.repeat(64)}","services":null,"created":"${T}","expires":null}}`;
    expect(code(() => decodePayload(utf8(`{"version":1,"generation":1,"entries":{},"agents":${one}}`)))).toBe('VAULT_BAD_PAYLOAD');
    expect(code(() => decodePayload(utf8('{"version":2,"generation":1,"entries":{}}')))).toBe('VAULT_BAD_PAYLOAD');
    expect(str(encodePayload({ ...data(), version: 2 }))).toBe('{"version":1,"generation":1,"entries":{}}');
    expect(str(encodePayload(data({ a: rec(newToken()) })))).toMatch(/^\{"version":2,/);
  });
});

describe('token lookup', () => {
  const token = newToken();
  const d = data({ ci: rec(token, ['github']), old: rec(newToken(), null, '2020-01-01T00:00:00.000Z') });

  it('tokens are janee_at_ + 43 base64url characters, and differ', () => {
    expect(token).toMatch(/^janee_at_[A-Za-z0-9_-]{43}$/);
    expect(newToken()).not.toBe(token);
  });

  it('finds the agent and its scope; refuses missing, malformed, unknown and expired tokens', () => {
    expect(findTokenAgent(d, token, Date.now())).toEqual({ name: 'ci', services: ['github'] });
    for (const t of [undefined, '', 'janee_at_short', newToken(), `${token}x`])
      expect(code(() => findTokenAgent(d, t, Date.now()))).toBe('GATE_UNAUTHORIZED');
    const expiring = newToken();
    const d2 = data({ e: agentRecord(expiring, null, new Date(Date.now() - 10_000), 5_000) });
    expect(code(() => findTokenAgent(d2, expiring, Date.now()))).toBe('GATE_UNAUTHORIZED');
  });

  it('putAgent refuses an existing name', () => {
    const x = data();
    putAgent(x, 'a', rec(newToken()));
    expect(code(() => putAgent(x, 'a', rec(newToken())))).toBe('VAULT_DUPLICATE');
  });
});

describe('merging agents', () => {
  const [a, b, c] = [rec(newToken()), rec(newToken()), rec(newToken(), ['x'])];

  it('adds from both sides, keeps a removal (revocation) from either side', () => {
    const base = data({ keep: a, gone: b });
    const ours = data({ keep: a, mine: c });
    const theirs = data({ keep: a, gone: b, theirs: rec(newToken()) });
    const m = mergeVaultData(base, ours, theirs);
    expect(m.conflicts).toEqual([]);
    expect(Object.keys(m.data.agents ?? {}).sort()).toEqual(['keep', 'mine', 'theirs']);
  });

  it('the same name added or changed differently on both sides is a conflict', () => {
    expect(mergeVaultData(data(), data({ n: a }), data({ n: b })).conflicts).toEqual([{ name: 'agent n', kind: 'added-both' }]);
    expect(mergeVaultData(data({ n: a }), data({ n: b }), data({ n: c })).conflicts).toEqual([{ name: 'agent n', kind: 'changed-both' }]);
    expect(mergeVaultData(data({ n: a }), data(), data({ n: b })).conflicts).toEqual([{ name: 'agent n', kind: 'deleted-ours' }]);
  });

  it('no agents on any side: the merged data has no agents key', () => {
    expect(mergeVaultData(data(), data(), data()).data.agents).toBeUndefined();
  });
});
