import { describe, expect, it } from 'vitest';
import { escapeField, formatEntry, type AuditEntry } from '../../src/audit/index.js';

function entry(over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    ts: '2026-03-15T10:23:45.123Z',
    agent: 'claude',
    agentSource: 'flag',
    service: 'stripe',
    method: 'GET',
    path: '/v1/charges',
    outcome: 'allowed',
    status: 200,
    ms: 142,
    seq: 1,
    prev: '0'.repeat(64),
    hash: 'a'.repeat(64),
    ...over,
  };
}

describe('formatEntry', () => {
  it('matches DESIGN.md', () => {
    expect(formatEntry(entry())).toBe('2026-03-15T10:23:45Z | agent:claude | stripe | GET /v1/charges | 200 | 142ms');
    expect(formatEntry(entry({ ts: '2026-03-15T10:23:48.999Z', method: 'POST', outcome: 'blocked', status: null, ms: 1 }))).toBe(
      '2026-03-15T10:23:48Z | agent:claude | stripe | POST /v1/charges | BLOCKED | policy violation',
    );
  });

  it('has a word and a short reason for each refusal', () => {
    const f = (over: Partial<AuditEntry>): string =>
      formatEntry(entry({ status: null, ...over }))
        .split(' | ')
        .slice(4)
        .join(' | ');
    expect(f({ outcome: 'blocked', rule: 'deny /v1/customers/*/delete' })).toBe('BLOCKED | policy violation (deny /v1/customers/*/delete)');
    expect(f({ outcome: 'rate_limited' })).toBe('RATE_LIMITED | rate limit exceeded');
    expect(f({ outcome: 'killed' })).toBe('KILLED | kill switch on');
    expect(f({ outcome: 'locked' })).toBe('LOCKED | vault locked');
    expect(f({ outcome: 'error', rule: 'GATE_UPSTREAM_TIMEOUT' })).toBe('ERROR | GATE_UPSTREAM_TIMEOUT');
    expect(f({ outcome: 'error' })).toBe('ERROR | error');
    expect(f({ outcome: 'allowed', status: null })).toBe('- | 142ms');
  });

  it('shows a summary record (coalesced refusals) with its count', () => {
    expect(formatEntry(entry({ outcome: 'blocked', status: null, ms: 0, rule: 'no matching policy', count: 37 }))).toBe(
      '2026-03-15T10:23:45Z | agent:claude | stripe | GET /v1/charges | BLOCKED | policy violation (no matching policy) | ×37 more like this (coalesced)',
    );
  });

  it('does not call a refusal made before any policy a policy violation', () => {
    const f = (over: Partial<AuditEntry>): string =>
      formatEntry(entry({ status: null, outcome: 'blocked', ...over }))
        .split(' | ')
        .slice(4)
        .join(' | ');
    expect(f({ rule: 'GATE_BAD_REQUEST' })).toBe('BLOCKED | bad request (refused before policy)');
    expect(f({ rule: 'origin binding' })).toBe('BLOCKED | origin binding (config.yaml points elsewhere)');
    expect(f({ rule: 'GATE_UNKNOWN_SERVICE' })).toBe('BLOCKED | unknown service');
  });

  it('escapes control characters, ANSI sequences and column separators', () => {
    const evil = entry({
      agent: 'x\u001b[2K\r2026-03-15T10:00:00Z | agent:claude | stripe | GET /ok | 200 | 1ms\n',
      path: '/a\u0007\u009b31m\u202etxt.exe\\|',
      method: 'GET\u0000',
      service: 'svc\u2028x',
    });
    const s = formatEntry(evil);
    expect(s).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u202e]/);
    expect(s.split(' | ')).toHaveLength(6);
    expect(s).toBe(
      '2026-03-15T10:23:45Z | agent:x\\x1b[2K\\x0d2026-03-15T10:00:00Z \\| agent:claude \\| stripe \\| GET /ok \\| 200 \\| 1ms\\x0a' +
        ' | svc\\u{2028}x | GET\\x00 /a\\x07\\x9b31m\\u{202e}txt.exe\\\\\\| | 200 | 142ms',
    );
    expect(escapeField('plain ünïcödé 😀')).toBe('plain ünïcödé 😀');
    // A hostile ts from an edited file is escaped too.
    expect(formatEntry(entry({ ts: '\u001b]0;pwned\u0007' }))).toMatch(/^\\x1b]0;pwned\\x07 \| /);
  });
});
