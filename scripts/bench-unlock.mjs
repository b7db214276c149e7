#!/usr/bin/env node
/**
 * Unlock benchmark: janee's vault unlock against raw scrypt and against `age -d`.
 *
 *     npm run build && node scripts/bench-unlock.mjs [--log-n 18] [--runs 5] [--no-age]
 *
 * Measures, at the same work factor (log2 N, r = 8, p = 1):
 *   janee unlock  parseVault + unwrapFileKey (node crypto.scrypt) + openVault + decodePayload
 *   node scrypt   crypto.scrypt alone
 *   noble scrypt  @noble/hashes scryptAsync alone
 *   age -d        Debian's age decrypting a passphrase file, timed from the moment the
 *                 passphrase is typed (age only reads passphrases from a terminal: the
 *                 util-linux `script` command gives it one) to its exit.
 * Runs are interleaved (janee, node, noble, age, janee, …) so load drift hits all alike.
 * Prints min and median wall time of each; the goal is janee ≤ 1.3 × age.
 * Timings vary with machine load: run it on an idle machine.
 */
import { scrypt as nodeScrypt, randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scryptAsync as nobleScryptAsync } from '@noble/hashes/scrypt.js';
import { generateFileKey, openVault, parseVault, sealVault, unwrapFileKey, wrapFileKey } from '../dist/vault/format.js';
import { decodePayload, encodePayload } from '../dist/vault/payload.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const LOG_N = opt('--log-n', 18);
const RUNS = opt('--runs', 5);
const WITH_AGE = !args.includes('--no-age');
const PASS = 'bench-secret-1';
const N = 2 ** LOG_N;
const MAXMEM = 128 * 8 * N + 16 * 1024 * 1024;

async function time(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}
function report(name, ms) {
  ms.sort((a, b) => a - b);
  const r = { name, min: ms[0], median: ms[Math.floor(ms.length / 2)] };
  console.log(
    `${name.padEnd(14)} min ${r.min.toFixed(0).padStart(5)} ms   median ${r.median.toFixed(0).padStart(5)} ms   [${ms.map((x) => x.toFixed(0)).join(', ')}]`,
  );
  return r;
}

// --- janee ---------------------------------------------------------------------------
const fileKey = generateFileKey();
const header = await wrapFileKey(new TextEncoder().encode(PASS), fileKey, LOG_N);
const T = new Date().toISOString();
const vault = sealVault(
  header,
  fileKey,
  encodePayload({
    version: 1,
    generation: 1,
    entries: { stripe: { fields: { token: 'sk_test_x' }, origins: ['https://api.stripe.com'], created: T, updated: T } },
  }),
);
console.log(`log2 N = ${LOG_N}, ${RUNS} runs each, node ${process.version}`);
const contenders = [
  [
    'janee unlock',
    () =>
      time(async () => {
        const parsed = parseVault(vault);
        const key = await unwrapFileKey(parsed.header, new TextEncoder().encode(PASS));
        decodePayload(openVault(parsed, key));
        key.fill(0);
      }),
  ],
  [
    'node scrypt',
    () =>
      time(
        () =>
          new Promise((resolve, reject) =>
            nodeScrypt(PASS, randomBytes(16), 32, { N, r: 8, p: 1, maxmem: MAXMEM }, (e, k) => (e ? reject(e) : resolve(k))),
          ),
      ),
  ],
  ['noble scrypt', () => time(() => nobleScryptAsync(PASS, randomBytes(16), { N, r: 8, p: 1, dkLen: 32, maxmem: MAXMEM }))],
];

/** Runs the contenders interleaved (one round = one run of each), so load drift hits all alike. */
const results = [];
async function runAll() {
  const times = contenders.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [j, [, fn]] of contenders.entries()) times[j].push(await fn());
  }
  for (const [j, [name]] of contenders.entries()) results.push(report(name, times[j]));
}

// --- age -------------------------------------------------------------------------------
/** Runs `cmd` on a pseudo-terminal; types PASS after each prompt; resolves with ms from the last passphrase to exit. */
function onPty(cmd, prompts) {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let typed = 0;
    let t0 = 0;
    child.stdout.on('data', (d) => {
      out += d.toString();
      const seen = (out.match(/(enter|confirm) passphrase/gi) ?? []).length;
      while (typed < Math.min(seen, prompts)) {
        typed++;
        if (typed === prompts) t0 = performance.now();
        child.stdin.write(`${PASS}\n`);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      child.stdin.destroy();
      if (code !== 0 || typed < prompts) reject(new Error(`${cmd}: exit ${code}; output: ${out.trim()}`));
      else resolve(ms);
    });
  });
}

const have = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
if (WITH_AGE && have('age') && have('script')) {
  const dir = mkdtempSync(join(tmpdir(), 'janee-bench-'));
  try {
    writeFileSync(join(dir, 'plain'), 'hello\n');
    await onPty(`age -p -o ${dir}/file.age ${dir}/plain`, 2);
    const stanza = readFileSync(join(dir, 'file.age'), 'latin1').split('\n')[1];
    const ageLogN = Number(stanza?.split(' ')[3]);
    if (ageLogN !== LOG_N) {
      console.log(`age wrote work factor ${ageLogN} (${stanza}); its factor is fixed, so age is compared at ${ageLogN}, not ${LOG_N}`);
    }
    contenders.push(['age -d', () => onPty(`age -d -o /dev/null ${dir}/file.age`, 1)]);
    await runAll();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  if (WITH_AGE) console.log('age -d         skipped (needs `age` and util-linux `script`)');
  await runAll();
}

const janee = results.find((r) => r.name === 'janee unlock');
const age = results.find((r) => r.name === 'age -d');
if (age !== undefined && janee !== undefined) {
  console.log(`janee / age: ${(janee.min / age.min).toFixed(2)} (min), ${(janee.median / age.median).toFixed(2)} (median); goal ≤ 1.30`);
}
