/**
 * config.yaml edits as a table: adding or removing a service changes only that
 * service's lines; every other byte (comments, spacing, order, other top-level
 * keys) stays. An edit that would leave an invalid file, or an edit of a file that
 * is already invalid, writes nothing. The real editConfig on real files.
 */
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addServiceNode, editConfig, INITIAL_CONFIG, removeServiceNode, undoConfigEdit, type NewService } from '../../src/config/edit.js';
import { loadConfig } from '../../src/config/load.js';
import { JaneeError } from '../../src/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'janee-config-edit-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

let n = 0;
/** A fresh directory holding config.yaml with `text` (or no file when undefined). */
async function configFile(text: string | undefined): Promise<string> {
  const d = path.join(dir, `case-${n++}`);
  await fs.mkdir(d, { mode: 0o700 });
  const file = path.join(d, 'config.yaml');
  if (text !== undefined) await fs.writeFile(file, text);
  return file;
}

/** A hand-written file: odd spacing, comments everywhere, flow and block style. */
const HAND = `# my janee config
vault: ./vault.janee   # next to this file

services:
  # payments
  stripe:
    baseUrl:   https://api.stripe.com
    auth: {type: bearer}
    policies:
      - { path: /v1/charges, methods: [ GET,POST ] }   # read and create
    rateLimit: 60/min

  # code hosting
  github:
    baseUrl: https://api.github.com
    auth: { type: header, name: Authorization }
  openai:
    baseUrl: https://api.openai.com/v1
    auth: bearer # no policies: anything
audit:
  keepDays: 90
`;

const NEW: NewService = {
  name: 'fresh',
  baseUrl: 'https://fresh.example.com',
  auth: { type: 'bearer' },
  policies: [{ path: '/v1/**', methods: ['GET'] }],
  rateLimit: '10/sec',
};
const NEW_LINES = [
  '  fresh:',
  '    baseUrl: https://fresh.example.com',
  '    auth: { type: bearer }',
  '    policies:',
  '      - path: /v1/**',
  '        methods: [GET]',
  '    rateLimit: 10/sec',
];

const REPRINTED = NEW_LINES.map((l) => l.replace('[GET]', '[ GET ]'));

const lines = (s: string) => s.split('\n');
/** `text` with lines [from, to) (0-based) replaced by `insert`. */
const splice = (text: string, from: number, to: number, insert: string[] = []) => {
  const l = lines(text);
  l.splice(from, to - from, ...insert);
  return l.join('\n');
};
const lineIndex = (text: string, line: string) => {
  const i = lines(text).indexOf(line);
  if (i < 0) throw new Error(`no line ${JSON.stringify(line)}`);
  return i;
};

describe('add and remove keep every other byte', () => {
  const cases: { name: string; before: string | undefined; edit: 'add' | 'remove'; target?: string; expected: string }[] = [
    // `services:` with nothing under it is not a mapping to splice into: the document is
    // re-printed (comments kept), and yaml pads the flow list.
    {
      name: 'add to a missing file: the initial config plus the service',
      before: undefined,
      edit: 'add',
      expected: `${INITIAL_CONFIG}${REPRINTED.join('\n')}\n`,
    },
    { name: 'add to the initial config', before: INITIAL_CONFIG, edit: 'add', expected: `${INITIAL_CONFIG}${REPRINTED.join('\n')}\n` },
    {
      name: 'add to a file with services: only its lines are appended',
      before: `${INITIAL_CONFIG}${NEW_LINES.join('\n').replaceAll('fresh', 'older')}\n`,
      edit: 'add',
      expected: `${INITIAL_CONFIG}${NEW_LINES.join('\n').replaceAll('fresh', 'older')}\n${NEW_LINES.join('\n')}\n`,
    },
    {
      name: 'add to a hand-written file: appended after the last service, before audit:',
      before: HAND,
      edit: 'add',
      expected: splice(HAND, lineIndex(HAND, 'audit:'), lineIndex(HAND, 'audit:'), NEW_LINES),
    },
    {
      // The blank line that separated it from the next service stays (now right under `services:`).
      name: 'remove the first service: its comment goes with it',
      before: HAND,
      edit: 'remove',
      target: 'stripe',
      expected: splice(HAND, lineIndex(HAND, '  # payments'), lineIndex(HAND, '  # code hosting') - 1),
    },
    {
      name: 'remove a middle service (comment attached to it goes too)',
      before: HAND,
      edit: 'remove',
      target: 'github',
      expected: splice(HAND, lineIndex(HAND, '  # code hosting'), lineIndex(HAND, '  openai:')),
    },
    {
      name: 'remove the last service: audit: and the rest stay',
      before: HAND,
      edit: 'remove',
      target: 'openai',
      expected: splice(HAND, lineIndex(HAND, '  openai:'), lineIndex(HAND, 'audit:')),
    },
    // No service left to splice around: re-printed, with an explicit empty mapping.
    {
      name: 'remove the only service',
      before: `${INITIAL_CONFIG}${NEW_LINES.join('\n')}\n`,
      edit: 'remove',
      target: 'fresh',
      expected: INITIAL_CONFIG.replace('services:', 'services: {}'),
    },
  ];
  it.each(cases)('$name', async ({ before, edit, target, expected }) => {
    const file = await configFile(before);
    const r = await editConfig(file, (doc) => (edit === 'add' ? addServiceNode(doc, NEW) : removeServiceNode(doc, target as string)));
    const after = await fs.readFile(file, 'utf8');
    expect(after).toBe(expected);
    expect(r.after).toBe(after);
    expect(r.before).toBe(before);
    // What editConfig returns is what loading the file gives.
    expect(r.config.services).toEqual((await loadConfig(file)).services);
    if (before !== undefined) expect(await fs.readFile(`${file}.bak`, 'utf8')).toBe(before);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  });

  it('add then undo gives back the exact bytes', async () => {
    const file = await configFile(HAND);
    const edit = await editConfig(file, (doc) => addServiceNode(doc, NEW));
    await undoConfigEdit(file, edit, (doc) => void removeServiceNode(doc, NEW.name));
    expect(await fs.readFile(file, 'utf8')).toBe(HAND);
  });

  it('undo after someone else changed the file removes just our service', async () => {
    const file = await configFile(HAND);
    const edit = await editConfig(file, (doc) => addServiceNode(doc, NEW));
    const other = await editConfig(file, (doc) => removeServiceNode(doc, 'github')); // a concurrent writer
    await undoConfigEdit(file, edit, (doc) => void removeServiceNode(doc, NEW.name));
    const after = await fs.readFile(file, 'utf8');
    expect(after).not.toContain('fresh');
    expect(after).toBe(splice(HAND, lineIndex(HAND, '  # code hosting'), lineIndex(HAND, '  openai:')));
    expect(other.result).toBe(true);
  });
});

describe('edits that would leave an invalid file write nothing', () => {
  const cases: {
    name: string;
    before: string;
    edit: (doc: Parameters<Parameters<typeof editConfig>[1]>[0]) => unknown;
    code: string;
    message: RegExp;
  }[] = [
    {
      name: 'a service that already exists',
      before: HAND,
      edit: (doc) => addServiceNode(doc, { ...NEW, name: 'stripe' }),
      code: 'CONFIG_DUPLICATE',
      message: /service "stripe" already exists/,
    },
    {
      name: 'a new service with plain http to a remote host',
      before: HAND,
      edit: (doc) => addServiceNode(doc, { ...NEW, baseUrl: 'http://fresh.example.com' }),
      code: 'CONFIG_INVALID',
      message: /refusing plain http/,
    },
    {
      name: 'a new service with an invalid name',
      before: HAND,
      edit: (doc) => addServiceNode(doc, { ...NEW, name: '-x' }),
      code: 'CONFIG_INVALID',
      message: /service names are/,
    },
    {
      name: 'any edit of a file that is already invalid',
      before: splice(HAND, lineIndex(HAND, 'audit:'), lineIndex(HAND, 'audit:'), ['  broken:', '    auth: bearer']),
      edit: (doc) => addServiceNode(doc, NEW),
      code: 'CONFIG_INVALID',
      message: /services\.broken: missing baseUrl/,
    },
    {
      name: 'any edit of a file with an inline secret',
      before: `${HAND}token: sk_live_abc\n`,
      edit: (doc) => addServiceNode(doc, NEW),
      code: 'CONFIG_INLINE_SECRET',
      message: /token: a secret is written/,
    },
  ];
  it.each(cases)('$name → $code', async ({ before, edit, code, message }) => {
    const file = await configFile(before);
    const err = await editConfig(file, edit).then(
      () => undefined,
      (e: unknown) => e as JaneeError,
    );
    expect(err).toBeInstanceOf(JaneeError);
    expect(err?.code).toBe(code);
    expect(err?.message).toMatch(message);
    expect(await fs.readFile(file, 'utf8')).toBe(before);
    expect((await fs.readdir(path.dirname(file))).sort()).toEqual(['config.yaml']); // no .bak, no lock, no temp file
  });
});
