#!/usr/bin/env node
// `npm run bench:audit [-- <MB> [<days>]]`: `janee logs verify` on a large audit log,
// in flat memory. Generates a valid chained log of about <MB> megabytes (default 600,
// beyond V8's 512 MiB string limit that the old whole-file reader hit) split over
// <days> day files (default 1: one huge file), with a signed checkpoint every 1000
// entries and the key pinned, then runs the built CLI's `logs verify --json` and
// `logs -n 5` and reports time and peak RSS (VmHWM, sampled from /proc).
// Imports the built modules (npm run build). Not a test: it takes minutes and disk.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { sealEntry, GENESIS_HASH } = await import(path.join(root, 'dist/audit/record.js'));
const { signerFromFileKey, makeCheckpoint, pinFile } = await import(path.join(root, 'dist/audit/signing.js'));

const targetMb = Number(process.argv[2] ?? 600);
const days = Math.max(1, Number(process.argv[3] ?? 1));
const home = mkdtempSync(path.join(tmpdir(), 'janee-bench-audit-'));
const dir = path.join(home, 'audit');
const state = path.join(home, 'state');
mkdirSync(dir, { recursive: true });
const env = { ...process.env, JANEE_HOME: home, XDG_STATE_HOME: state };
for (const k of ['JANEE_CONFIG', 'JANEE_VAULT', 'JANEE_PASSPHRASE', 'JANEE_PASSPHRASE_FILE']) delete env[k];

const signer = signerFromFileKey(randomBytes(32));
const write = (ws, s) => (ws.write(s) ? undefined : new Promise((r) => ws.once('drain', r)));

console.log(`generating ~${targetMb} MB in ${days} day file(s) under ${dir} …`);
let t0 = performance.now();
const perDay = (targetMb * 1e6) / days;
const cps = createWriteStream(path.join(dir, 'checkpoints'));
let seq = 0;
let prev = GENESIS_HASH;
let total = 0;
for (let d = 0; d < days; d++) {
  const date = new Date(Date.UTC(2026, 0, 1 + d)).toISOString().slice(0, 10);
  const ws = createWriteStream(path.join(dir, `${date}.jsonl`));
  let bytes = 0;
  while (bytes < perDay) {
    seq++;
    const ts = `${date}T${new Date((seq * 7) % 86_400_000).toISOString().slice(11)}`;
    const input = {
      agent: 'bench-agent',
      agentSource: 'flag',
      service: 'stripe',
      method: 'GET',
      path: `/v1/charges/ch_${seq}`,
      outcome: seq % 5 ? 'allowed' : 'blocked',
      status: seq % 5 ? 200 : null,
      ms: seq % 300,
      reason: 'listing charges for the monthly report',
    };
    const { entry, line } = sealEntry(input, ts, seq, prev);
    prev = entry.hash;
    bytes += line.length;
    const p = write(ws, line);
    if (p) await p;
    if (seq % 1000 === 0) {
      const q = write(cps, `${JSON.stringify(makeCheckpoint('checkpoint', signer, seq, prev, ts))}\n`);
      if (q) await q;
    }
  }
  await new Promise((r) => ws.end(r));
  total += bytes;
}
await new Promise((r) => cps.end(r));
writeFileSync(path.join(dir, 'head'), JSON.stringify({ seq, hash: prev, file: null }).padEnd(255) + '\n');
const keyLine = `${JSON.stringify({ id: signer.id, publicKey: signer.publicKey, added: new Date().toISOString() })}\n`;
writeFileSync(path.join(dir, 'signing-keys'), keyLine);
mkdirSync(path.dirname(pinFile(dir, env)), { recursive: true });
writeFileSync(pinFile(dir, env), keyLine);
console.log(`  ${seq} entries, ${(total / 1e6).toFixed(0)} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s`);

/** Runs the built CLI, sampling the child's peak RSS. */
async function measure(args) {
  const t = performance.now();
  const child = spawn(process.execPath, [path.join(root, 'dist/cli/main.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (err += b));
  let hwm = 0;
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) hwm = Math.max(hwm, Number(m[1]));
    } catch {
      // exited
    }
  };
  const timer = setInterval(sample, 20);
  const code = await new Promise((r) => child.on('exit', (c) => r(c)));
  clearInterval(timer);
  return { code, ms: performance.now() - t, peakMb: hwm / 1024, out, err };
}

const v = await measure(['logs', 'verify', '--json']);
const r = JSON.parse(v.out || '{}');
console.log(
  `janee logs verify: exit ${v.code}, ${(v.ms / 1000).toFixed(1)} s, peak RSS ${v.peakMb.toFixed(0)} MB; ok=${r.ok} entries=${r.entries} signed up to ${r.signed?.seq} unsigned=${r.unsigned} problems=${r.problems?.length}`,
);
if (v.code !== 0) console.log(v.err.slice(0, 2000));
const l = await measure(['logs', '-n', '5']);
console.log(`janee logs -n 5:    exit ${l.code}, ${(l.ms / 1000).toFixed(1)} s, peak RSS ${l.peakMb.toFixed(0)} MB`);
rmSync(home, { recursive: true, force: true });
process.exitCode = v.code === 0 && r.ok && r.entries === seq ? 0 : 1;
