/**
 * The tool schemas the BUILT `janee serve` advertises (tools/list over stdio, the
 * official SDK client) are portable to the strictest clients: the rules of the
 * MCP Inspector's `--strict` schema lint, plus bounds that say what the values are.
 * Walks every subschema of every inputSchema and outputSchema.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, tempHome } from '../helpers/cli.js';
import { closeAllServes, startServe } from '../helpers/mcp.js';

type Schema = Record<string, unknown>;

const SUBSCHEMA = [
  'items',
  'contains',
  'not',
  'propertyNames',
  'if',
  'then',
  'else',
  'additionalProperties',
  'additionalItems',
  'unevaluatedProperties',
  'unevaluatedItems',
];
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions'];
const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
/** Keywords that may be the boolean `true`/`false` (the Inspector accepts those). */
const BOOLEAN_OK = new Set(['additionalProperties', 'unevaluatedProperties', 'additionalItems', 'unevaluatedItems']);
/** A schema with none of these accepts anything: the `{}` the Inspector warns about. */
const CONSTRAINING = [
  'type',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'allOf',
  'not',
  '$ref',
  'properties',
  'items',
  'required',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'additionalProperties',
];

/** Every problem found under `node`, as "path: what". */
function lint(node: unknown, where: string, keyword: string | undefined, out: string[]): void {
  if (typeof node === 'boolean') {
    if (keyword === undefined || !BOOLEAN_OK.has(keyword)) out.push(`${where}: bare ${String(node)} where a schema is expected`);
    return;
  }
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    out.push(`${where}: not a schema`);
    return;
  }
  const s = node as Schema;
  if (Array.isArray(s['type'])) out.push(`${where}: type is an array ${JSON.stringify(s['type'])}`);
  if (typeof s['$ref'] === 'string') out.push(`${where}: $ref (not every client resolves it)`);
  if (keyword !== 'not' && !CONSTRAINING.some((k) => k in s)) out.push(`${where}: empty schema (accepts anything)`);
  if (s['type'] === 'integer' || s['type'] === 'number') {
    const min = s['minimum'];
    const max = s['maximum'];
    if (typeof min === 'number' && Math.abs(min) > 1e12) out.push(`${where}: meaningless minimum ${min}`);
    if (typeof max === 'number' && Math.abs(max) > 1e12) out.push(`${where}: meaningless maximum ${max}`);
  }
  for (const k of SUBSCHEMA) if (k in s) lint(s[k], `${where}.${k}`, k, out);
  for (const k of SUBSCHEMA_MAPS) {
    const m = s[k];
    if (m && typeof m === 'object') for (const [name, sub] of Object.entries(m)) lint(sub, `${where}.${k}.${name}`, k, out);
  }
  for (const k of SUBSCHEMA_LISTS) {
    const l = s[k];
    if (Array.isArray(l)) l.forEach((sub, i) => lint(sub, `${where}.${k}[${i}]`, k, out));
  }
}

function lintAll(schema: unknown, where: string): string[] {
  const out: string[] = [];
  lint(schema, where, undefined, out);
  return out;
}

let tools: { name: string; inputSchema: unknown; outputSchema?: unknown }[];

beforeAll(async () => {
  const env = await tempHome();
  await fs.mkdir(env.JANEE_HOME, { recursive: true, mode: 0o700 });
  await fs.writeFile(path.join(env.JANEE_HOME, 'config.yaml'), 'services: {}\n');
  const s = await startServe({ env, listTools: false });
  tools = (await s.client.listTools()).tools;
}, 30_000);

afterAll(async () => {
  await closeAllServes();
  await cleanupTempHomes();
});

describe('advertised tool schemas', () => {
  it('the walker finds what the Inspector warns about (so a clean result means something)', () => {
    expect(
      lintAll(
        { type: 'object', properties: { a: { type: ['string', 'null'] }, b: { type: 'array', items: {} } }, additionalProperties: {} },
        's',
      ),
    ).toEqual([
      's.additionalProperties: empty schema (accepts anything)',
      's.properties.a: type is an array ["string","null"]',
      's.properties.b.items: empty schema (accepts anything)',
    ]);
    expect(lintAll({ type: 'array', items: true }, 's')).toEqual(['s.items: bare true where a schema is expected']);
    expect(lintAll({ type: 'integer', minimum: -9007199254740991 }, 's')).toEqual(['s: meaningless minimum -9007199254740991']);
    expect(lintAll({ type: 'object', additionalProperties: true }, 's')).toEqual([]);
  });

  it('list_services, execute, list_commands and exec: no type unions, no empty or boolean schemas, no $ref, real bounds', () => {
    expect(tools.map((t) => t.name).sort()).toEqual(['exec', 'execute', 'list_commands', 'list_services']);
    const problems = tools.flatMap((t) => [
      ...lintAll(t.inputSchema, `${t.name}.inputSchema`),
      ...(t.outputSchema === undefined ? [] : lintAll(t.outputSchema, `${t.name}.outputSchema`)),
    ]);
    expect(problems).toEqual([]);
  });

  it('says what the values are: headers string→string, query string→string|string[], status 100-999, nullable fields as anyOf', () => {
    const execute = tools.find((t) => t.name === 'execute')!;
    const input = (execute.inputSchema as Schema)['properties'] as Record<string, Schema>;
    expect(input['headers']!['additionalProperties']).toEqual({ type: 'string' });
    expect(input['query']!['additionalProperties']).toEqual({ anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] });
    const output = (execute.outputSchema as Schema)['properties'] as Record<string, Schema>;
    expect(output['status']).toMatchObject({ type: 'integer', minimum: 100, maximum: 999 });
    expect(output['headers']!['additionalProperties']).toEqual({ type: 'string' });
    const list = tools.find((t) => t.name === 'list_services')!;
    const svc = (((list.outputSchema as Schema)['properties'] as Record<string, Schema>)['services']!['items'] as Schema)[
      'properties'
    ] as Record<string, Schema>;
    expect(svc['rateLimit']!['anyOf']).toEqual([{ type: 'string', minLength: 1 }, { type: 'null' }]);
    expect((svc['policies']!['anyOf'] as Schema[]).map((b) => b['type'])).toEqual(['array', 'null']);
    const exec = tools.find((t) => t.name === 'exec')!;
    const execIn = (exec.inputSchema as Schema)['properties'] as Record<string, Schema>;
    expect(execIn['args']).toMatchObject({ type: 'array', items: { type: 'string' } });
    expect((exec.inputSchema as Schema)['required']).toEqual(['command', 'args']);
    const execOut = (exec.outputSchema as Schema)['properties'] as Record<string, Schema>;
    expect((execOut['exitCode']!['anyOf'] as Schema[]).map((b) => b['type'])).toEqual(['integer', 'null']);
  });
});
