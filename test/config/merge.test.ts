/**
 * The three-way merge of config.yaml (what `janee vault merge` does for git) as a
 * table: base, ours, theirs → the merged services and top-level keys, or a
 * conflict naming what changed on both sides. Ours keeps its comments. The real
 * mergeConfigText; the result is checked by loading it back.
 */
import { describe, expect, it } from 'vitest';
import { parseConfigText, validateConfig } from '../../src/config/load.js';
import { mergeConfigText } from '../../src/config/merge.js';
import { JaneeError } from '../../src/errors.js';

const FILE = '/repo/config.yaml';

const svc = (name: string, host = `${name}.example.com`, extra = '') =>
  `  ${name}:\n    baseUrl: https://${host}\n    auth: bearer\n${extra}`;
const cfg = (...services: string[]) => `# shared config\nservices:\n${services.join('')}`;
const GET_ONLY = '    policies:\n      - path: /v1\n        methods: [GET]\n';
const POST_TOO = '    policies:\n      - path: /v1\n        methods: [GET, POST]\n';

/** Service name → baseUrl and policies, as loading the merged text gives them. */
function summary(text: string): Record<string, string> {
  const c = validateConfig(parseConfigText(FILE, text), FILE);
  return Object.fromEntries(
    [...c.services].map(([n, s]) => [
      n,
      `${s.baseUrl} ${s.policies === undefined ? 'any' : s.policies.map((p) => `${p.methods.join('|')} ${p.path}`).join(', ')}`,
    ]),
  );
}

describe('merges that resolve', () => {
  const cases: {
    name: string;
    base: string | undefined;
    ours: string;
    theirs: string;
    services: Record<string, string>;
    changes: string[];
    top?: Record<string, unknown>;
  }[] = [
    {
      name: 'nothing changed',
      base: cfg(svc('a')),
      ours: cfg(svc('a')),
      theirs: cfg(svc('a')),
      services: { a: 'https://a.example.com any' },
      changes: [],
    },
    {
      name: 'each side added its own service',
      base: cfg(svc('a')),
      ours: cfg(svc('a'), svc('b')),
      theirs: cfg(svc('a'), svc('c')),
      services: { a: 'https://a.example.com any', b: 'https://b.example.com any', c: 'https://c.example.com any' },
      changes: ['c (theirs)'],
    },
    {
      name: 'only theirs changed a service',
      base: cfg(svc('a', 'a.example.com', GET_ONLY)),
      ours: cfg(svc('a', 'a.example.com', GET_ONLY)),
      theirs: cfg(svc('a', 'a.example.com', POST_TOO)),
      services: { a: 'https://a.example.com GET|POST /v1' },
      changes: ['a (theirs)'],
    },
    {
      name: 'only ours changed a service',
      base: cfg(svc('a', 'a.example.com', GET_ONLY)),
      ours: cfg(svc('a', 'a.example.com', POST_TOO)),
      theirs: cfg(svc('a', 'a.example.com', GET_ONLY)),
      services: { a: 'https://a.example.com GET|POST /v1' },
      changes: [],
    },
    {
      name: 'both made the same change',
      base: cfg(svc('a')),
      ours: cfg(svc('a', 'a2.example.com')),
      theirs: cfg(svc('a', 'a2.example.com')),
      services: { a: 'https://a2.example.com any' },
      changes: [],
    },
    {
      name: 'theirs removed a service ours left alone',
      base: cfg(svc('a'), svc('b')),
      ours: cfg(svc('a'), svc('b')),
      theirs: cfg(svc('a')),
      services: { a: 'https://a.example.com any' },
      changes: ['b (theirs)'],
    },
    {
      name: 'ours removed a service theirs left alone',
      base: cfg(svc('a'), svc('b')),
      ours: cfg(svc('a')),
      theirs: cfg(svc('a'), svc('b')),
      services: { a: 'https://a.example.com any' },
      changes: [],
    },
    {
      name: 'no base (both added the file): the same service on both sides',
      base: undefined,
      ours: cfg(svc('a')),
      theirs: cfg(svc('a'), svc('b')),
      services: { a: 'https://a.example.com any', b: 'https://b.example.com any' },
      changes: ['b (theirs)'],
    },
    {
      name: 'theirs added a top-level key',
      base: cfg(svc('a')),
      ours: cfg(svc('a')),
      theirs: `${cfg(svc('a'))}audit:\n  keepDays: 30\n`,
      services: { a: 'https://a.example.com any' },
      changes: ['audit (theirs)'],
      top: { audit: { keepDays: 30 } },
    },
    {
      name: 'theirs dropped a top-level key ours kept',
      base: `vault: v.janee\n${cfg(svc('a'))}`,
      ours: `vault: v.janee\n${cfg(svc('a'))}`,
      theirs: cfg(svc('a')),
      services: { a: 'https://a.example.com any' },
      changes: ['vault (theirs)'],
      top: { vault: undefined },
    },
  ];
  it.each(cases)('$name', ({ base, ours, theirs, services, changes, top }) => {
    const r = mergeConfigText(FILE, base, ours, theirs);
    expect(summary(r.text)).toEqual(services);
    expect(r.changes).toEqual(changes);
    expect(r.text).toContain('# shared config'); // ours' comments are kept
    for (const [k, v] of Object.entries(top ?? {}))
      expect((parseConfigText(FILE, r.text).doc.toJS() as Record<string, unknown>)[k]).toEqual(v);
  });

  it('a comment on a service ours kept survives a merge that takes another service from theirs', () => {
    const ours = cfg(`  # the payments account\n${svc('a')}`);
    const r = mergeConfigText(FILE, cfg(svc('a')), ours, cfg(svc('a'), svc('z')));
    expect(r.text).toContain('# the payments account');
    expect(Object.keys(summary(r.text))).toEqual(['a', 'z']);
  });
});

describe('merges that conflict: nothing guessed, the conflict named', () => {
  const cases: { name: string; base: string | undefined; ours: string; theirs: string; code: string; message: RegExp }[] = [
    {
      name: 'a service changed differently on both sides',
      base: cfg(svc('a', 'a.example.com', GET_ONLY)),
      ours: cfg(svc('a', 'a.example.com', POST_TOO)),
      theirs: cfg(svc('a', 'a2.example.com', GET_ONLY)),
      code: 'CONFIG_MERGE_CONFLICT',
      message: /^config merge conflict: services\.a changed on both sides$/,
    },
    {
      name: 'changed on one side, removed on the other',
      base: cfg(svc('a'), svc('b')),
      ours: cfg(svc('a')),
      theirs: cfg(svc('a'), svc('b', 'b2.example.com')),
      code: 'CONFIG_MERGE_CONFLICT',
      message: /services\.b changed on both sides/,
    },
    {
      name: 'the same new service added differently (no base)',
      base: undefined,
      ours: cfg(svc('a')),
      theirs: cfg(svc('a', 'other.example.com')),
      code: 'CONFIG_MERGE_CONFLICT',
      message: /services\.a changed on both sides/,
    },
    {
      name: 'a top-level key changed differently, and a service too: both named',
      base: `vault: v.janee\n${cfg(svc('a'))}`,
      ours: `vault: ours.janee\n${cfg(svc('a', 'a1.example.com'))}`,
      theirs: `vault: theirs.janee\n${cfg(svc('a', 'a2.example.com'))}`,
      code: 'CONFIG_MERGE_CONFLICT',
      message: /vault changed on both sides; services\.a changed on both sides/,
    },
    {
      name: 'theirs is not valid YAML',
      base: cfg(svc('a')),
      ours: cfg(svc('a')),
      theirs: 'services:\n  a: [\n',
      code: 'CONFIG_INVALID',
      message: /^\/repo\/config\.yaml:3: invalid YAML/,
    },
  ];
  it.each(cases)('$name → $code', ({ base, ours, theirs, code, message }) => {
    let err: unknown;
    try {
      mergeConfigText(FILE, base, ours, theirs);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JaneeError);
    expect((err as JaneeError).code).toBe(code);
    expect((err as JaneeError).message).toMatch(message);
    expect((err as JaneeError).hint).toBeDefined();
  });
});
