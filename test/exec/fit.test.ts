/** An exec result fits the MCP client's message limit whatever the program printed (src/mcp/tools.ts). */
import { describe, expect, it } from 'vitest';
import { fitExecResult } from '../../src/mcp/tools.js';

const wire = (r: object): number => {
  const json = JSON.stringify(r);
  return Buffer.byteLength(json) + Buffer.byteLength(JSON.stringify(json));
};

describe('fitExecResult', () => {
  it('leaves a small result alone', () => {
    const r = { exitCode: 0, stdout: 'ok\n', stderr: '', truncated: false, timedOut: false, durationMs: 1 };
    expect(fitExecResult(r)).toBe(r);
  });
  it('cuts 2 × 2 MiB of control characters (6 bytes each once escaped) under the SDK’s 10 MiB, marked truncated', () => {
    const big = '\u0001'.repeat(2 * 1024 * 1024);
    const r = fitExecResult({ exitCode: 0, stdout: big, stderr: big, truncated: false, timedOut: false, durationMs: 1 });
    expect(r.truncated).toBe(true);
    expect(wire(r)).toBeLessThanOrEqual(6 * 1024 * 1024);
    expect(r.stdout.length + r.stderr.length).toBeGreaterThan(100_000);
  });
});
