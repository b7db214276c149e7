/** Shared helpers for the audit tests: temp dirs, entries, and a transpiled copy of src for child processes. */
import { mkdtempSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll } from 'vitest';
import type { AuditInput } from '../../src/audit/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const made: string[] = [];
// Registered on the importing test file: its temp dirs go when it ends.
afterAll(async () => {
  await Promise.all(made.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
});

export async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'janee-audit-'));
  made.push(d);
  return d;
}

/** tempDir, synchronously (for module-level setup such as XDG_STATE_HOME); removed with the others. */
export function tempDirSync(prefix = 'janee-state-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

export function input(over: Partial<AuditInput> = {}): AuditInput {
  return {
    agent: 'claude',
    agentSource: 'flag',
    service: 'stripe',
    method: 'GET',
    path: '/v1/charges',
    outcome: 'allowed',
    status: 200,
    ms: 142,
    ...over,
  };
}

export async function lines(file: string): Promise<string[]> {
  const text = await fs.readFile(file, 'utf8');
  return text.split('\n').slice(0, -1);
}

/** Writes lines back (each + '\n'). */
export async function writeLines(file: string, ls: string[]): Promise<void> {
  await fs.writeFile(file, ls.map((l) => `${l}\n`).join(''));
}

/**
 * Transpiles the modules the audit writer needs (no type check) into `out`, so a
 * plain `node` child process can import them. Returns the writer module's path.
 */
export async function transpileAudit(out: string): Promise<string> {
  const files = ['src/errors.ts'];
  for (const d of ['util', 'audit']) files.push(...(await fs.readdir(path.join(root, 'src', d))).map((f) => `src/${d}/${f}`));
  for (const rel of files) {
    if (!rel.endsWith('.ts')) continue;
    const src = await fs.readFile(path.join(root, rel), 'utf8');
    const js = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const dest = path.join(out, rel.replace(/\.ts$/, '.js'));
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.writeFile(dest, js);
  }
  await fs.writeFile(path.join(out, 'package.json'), '{"type":"module"}');
  return path.join(out, 'src/audit/writer.js');
}
