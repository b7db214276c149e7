/**
 * scrypt on Node's thread pool (OpenSSL), so a 256 MiB key derivation never
 * blocks the event loop. Checked against @noble/hashes' scrypt in the tests.
 */
import { scrypt as nodeScrypt } from 'node:crypto';

/** r=8, p=1 as in age. Memory is 128·r·N bytes: 256 MiB at log2 N = 18. */
export function scryptAsync(password: Uint8Array, salt: Uint8Array, logN: number, dkLen = 32): Promise<Uint8Array> {
  if (!Number.isInteger(logN) || logN < 1 || logN > 30) throw new RangeError(`scrypt: log2 N must be an integer in 1..30, got ${logN}`);
  const N = 2 ** logN;
  const r = 8;
  const p = 1;
  const maxmem = 128 * r * N + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    nodeScrypt(password, salt, dkLen, { N, r, p, maxmem }, (err, key) => {
      if (err) reject(err);
      else {
        const out = new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
        resolve(out);
      }
    });
  });
}
