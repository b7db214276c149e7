/**
 * config.yaml is hand-written and reviewed in git: `janee add` and `janee remove`
 * must keep the user's comments, order and the other services' text.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, runJanee, type JaneeEnv } from '../helpers/cli.js';

afterAll(cleanupTempHomes);

const configOf = (env: JaneeEnv) => path.join(env.JANEE_HOME, 'config.yaml');

async function addAndRemove(env: JaneeEnv, original: string): Promise<{ afterAdd: string; afterRemove: string }> {
  await fs.writeFile(configOf(env), original);
  const add = await runJanee(['add', 'newsvc', '--base-url', 'https://new.example.com', '--key-stdin'], { env, input: 'sk_test_new' });
  expect(add.code, add.stderr).toBe(0);
  const afterAdd = await fs.readFile(configOf(env), 'utf8');
  const rm = await runJanee(['remove', 'mid'], { env });
  expect(rm.code, rm.stderr).toBe(0);
  return { afterAdd, afterRemove: await fs.readFile(configOf(env), 'utf8') };
}

/** The lines of `text` from the one starting with `from` up to (not including) the one starting with `to`. */
function block(text: string, from: string, to: string | undefined): string {
  const start = text.indexOf(from);
  expect(start, `${from} not found in:\n${text}`).toBeGreaterThanOrEqual(0);
  const end = to === undefined ? text.length : text.indexOf(to, start);
  return text.slice(start, end);
}

describe.concurrent('comments and order survive add and remove', () => {
  // Written the way the yaml library prints (one space before `#`, `[ GET ]`), so
  // every byte outside the added and removed services must stay the same.
  const canonical = `# My janee config, hand-written.
# Services are ordered by trust, not alphabetically.

services:
  # Payments: read-only for agents.
  zeta:
    baseUrl: https://zeta.example.com # production
    auth: { type: bearer }
    policies:
      - path: /v1/charges # list charges
        methods: [ GET ]

  # The middle one is removed by the test.
  mid:
    baseUrl: https://mid.example.com
    auth:
      type: header
      name: X-Api-Key

  # Alpha goes last on purpose.
  alpha:
    baseUrl: https://alpha.example.com
    auth: { type: query, param: key } # legacy API
    rateLimit: 10/min

# trailing comment: end of file
`;

  it('keeps every other line verbatim (canonical spacing)', async () => {
    const env = await initHome();
    const { afterAdd, afterRemove } = await addAndRemove(env, canonical);

    // After add: the old text is all there, in order, and the new service follows alpha.
    const zeta = block(canonical, '# My janee config', '  # The middle one');
    const mid = block(canonical, '  # The middle one', '  # Alpha goes');
    const alpha = block(canonical, '  # Alpha goes', '\n# trailing comment');
    expect(afterAdd.startsWith(zeta + mid + alpha), afterAdd).toBe(true);
    expect(afterAdd).toContain('  newsvc:\n    baseUrl: https://new.example.com\n    auth: { type: bearer }\n');
    expect(afterAdd.endsWith('\n# trailing comment: end of file\n'), afterAdd).toBe(true);

    // After remove: mid (and its own comment) is gone; everything else is byte-identical.
    expect(afterRemove).toBe(afterAdd.replace(mid, ''));
    expect(afterRemove).not.toMatch(/mid/);
  });

  it('keeps comments, order and values of hand-spaced YAML', async () => {
    const env = await initHome();
    const original = canonical
      .replace('# production', '    # production')
      .replace('[ GET ]', '[GET]')
      .replace('# legacy API', '  # legacy API');
    const { afterRemove } = await addAndRemove(env, original);
    for (const comment of original.match(/#.*$/gm) ?? []) {
      if (comment.includes('middle one')) expect(afterRemove).not.toContain(comment);
      else expect(afterRemove).toContain(comment);
    }
    const order = ['zeta:', 'alpha:', 'newsvc:', '# trailing comment'].map((k) => afterRemove.indexOf(k));
    expect(
      order.every((p, i) => p >= 0 && (i === 0 || p > (order[i - 1] as number))),
      afterRemove,
    ).toBe(true);
    const list = await runJanee(['list', '--json'], { env });
    const services = (JSON.parse(list.stdout) as { services: { name: string; policies: unknown; rateLimit: string | null }[] }).services;
    expect(services.map((s) => s.name)).toEqual(['zeta', 'alpha', 'newsvc']);
    expect(services[0]?.policies).toEqual([{ path: '/v1/charges', methods: ['GET'], deny: false }]);
    expect(services[1]?.rateLimit).toBe('10/min');
  });

  // editConfig splices text: other services keep their hand-written spacing
  it('keeps hand-spaced lines of other services byte-identical', async () => {
    const env = await initHome();
    const original = canonical.replace('# production', '    # production').replace('[ GET ]', '[GET]');
    const { afterRemove } = await addAndRemove(env, original);
    expect(afterRemove).toContain(block(original, '  # Payments', '  # The middle one'));
  });
});
