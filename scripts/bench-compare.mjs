#!/usr/bin/env node
// Before/after table from `npm run bench -- --json` outputs: the median over the runs
// of each figure, and after / before. Markdown, for docs/bench.md and notes.
//
//   node scripts/bench-compare.mjs --before base-1.json base-2.json --after new-1.json new-2.json
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const files = (flag) => {
  const i = args.indexOf(flag);
  if (i < 0) return [];
  const end = args.findIndex((a, j) => j > i && a.startsWith('--'));
  return args.slice(i + 1, end < 0 ? undefined : end);
};
const load = (flag) => files(flag).map((f) => JSON.parse(readFileSync(f, 'utf8')));
const before = load('--before');
const after = load('--after');
if (!before.length || !after.length) {
  console.error('usage: node scripts/bench-compare.mjs --before A.json… --after B.json…');
  process.exit(2);
}

const med = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const cli = (k) => (r) => r.cli_ms?.[k];
const cliRatio = (k) => (r) => r.cli_ms?.[k] / r.cli_ms?.['node -e 0'];
const rows = [
  ['spawn → initialize, serve (ms)', (r) => r.startup_ms.serve, 1],
  ['spawn → initialize, SDK echo server (ms)', (r) => r.startup_ms.echo, 1],
  ['serve / echo start-up', (r) => r.startup_ms.serve / r.startup_ms.echo, 2],
  ['node -e 0, spawn → exit (ms)', (r) => r.startup_ms.node_e0, 1],
  ['per call, serve (ms)', (r) => r.per_call_ms.serve, 3],
  ['per call, direct undici (ms)', (r) => r.per_call_ms.direct, 3],
  ['added per call, serve − direct (ms)', (r) => r.per_call_ms.added, 3],
  ['per call, SDK echo server (ms)', (r) => r.per_call_ms.echo, 3],
  ['added − echo per call (ms)', (r) => r.per_call_ms.added - r.per_call_ms.echo, 3],
  ['added per call, SDK + undici proxy − direct (ms)', (r) => r.per_call_ms.proxy - r.per_call_ms.direct, 3],
  ['throughput 16 in flight, serve (/s)', (r) => r.throughput_per_s.serve, 0],
  ['throughput, direct undici (/s)', (r) => r.throughput_per_s.direct, 0],
  ['throughput serve / direct', (r) => r.throughput_per_s.serve / r.throughput_per_s.direct, 2],
  ['throughput, SDK echo server (/s)', (r) => r.throughput_per_s.echo, 0],
  ['throughput, SDK + undici proxy / direct', (r) => r.throughput_per_s.proxy / r.throughput_per_s.direct, 2],
  ['CPU per call at 16 in flight, serve (µs)', (r) => r.cpu_per_call_us?.serve, 0],
  ['CPU per call, SDK echo server (µs)', (r) => r.cpu_per_call_us?.echo, 0],
  ['CPU per call, SDK + undici proxy (µs)', (r) => r.cpu_per_call_us?.proxy, 0],
  ['RSS after load, serve (MB)', (r) => r.rss_after_load_mb.serve, 1],
  ['RSS after load, SDK echo server (MB)', (r) => r.rss_after_load_mb.echo, 1],
  ['RSS after load, SDK + undici proxy (MB)', (r) => r.rss_after_load_mb.proxy, 1],
  ['HTTP throughput, lean client / direct', (r) => r.http?.lean_per_s / r.throughput_per_s.direct, 2],
  ['RSS of serve --http, 50 sessions (MB)', (r) => r.http?.rss_mb, 1],
  ['node -e 0, CLI rows (ms)', cli('node -e 0'), 1],
  ...['janee --version', 'janee status', 'janee list', 'janee logs -n 5'].flatMap((k) => [
    [`${k} (ms)`, cli(k), 1],
    [`${k} / node -e 0`, cliRatio(k), 2],
  ]),
];
console.log(`| measure | before (${before.length} runs) | after (${after.length} runs) | after / before |`);
console.log('|---|---:|---:|---:|');
for (const [name, fn, d] of rows) {
  const a = med(before.map(fn));
  const b = med(after.map(fn));
  const fmt = (x) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  console.log(`| ${name} | ${fmt(a)} | ${fmt(b)} | ${Number.isFinite(a) && Number.isFinite(b) ? (b / a).toFixed(2) : '-'} |`);
}
