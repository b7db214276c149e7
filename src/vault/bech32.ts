/**
 * Bech32 (BIP 173; not bech32m), strict, as age uses it for `age1…` recipients and
 * `AGE-SECRET-KEY-1…` identities. Pure. A string is accepted only if it is all lower
 * or all upper case, its checksum verifies and its 5-bit groups convert to whole bytes
 * with zero padding bits. age lifts BIP 173's 90-character limit; so do we (its keys
 * are 62 and 74 characters long anyway).
 */

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i] as number;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

/** Regroups bits; `pad` for encoding. Undefined if decoding leaves non-zero or too many padding bits. */
function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | undefined {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    acc = (acc << from) | (data[i] as number);
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >>> bits) & maxv);
    }
    acc &= (1 << bits) - 1;
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || acc !== 0) {
    return undefined;
  }
  return out;
}

/** Lower-case bech32 of `data` under `hrp` (which must be lower case ASCII 33..126). */
export function bech32Encode(hrp: string, data: Uint8Array): string {
  if (!/^[\x21-\x7e]+$/.test(hrp) || hrp !== hrp.toLowerCase())
    throw new RangeError('bech32Encode: hrp must be lower-case printable ASCII');
  const words = convertBits(data, 8, 5, true) as number[];
  const chk = polymod([...hrpExpand(hrp), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  let out = `${hrp}1`;
  for (const w of words) out += CHARSET[w];
  for (let i = 0; i < 6; i++) out += CHARSET[(chk >>> (5 * (5 - i))) & 31];
  return out;
}

/** The human-readable part (lower case) and the bytes, or undefined if `s` is not strict bech32. */
export function bech32Decode(s: string): { hrp: string; data: Uint8Array } | undefined {
  if (typeof s !== 'string' || !/^[\x21-\x7e]+$/.test(s)) return undefined;
  const lower = s.toLowerCase();
  if (s !== lower && s !== s.toUpperCase()) return undefined; // mixed case
  const sep = lower.lastIndexOf('1');
  if (sep < 1 || sep + 7 > lower.length) return undefined;
  const hrp = lower.slice(0, sep);
  const words: number[] = [];
  for (const c of lower.slice(sep + 1)) {
    const v = CHARSET.indexOf(c);
    if (v < 0) return undefined;
    words.push(v);
  }
  if (polymod([...hrpExpand(hrp), ...words]) !== 1) return undefined;
  const bytes = convertBits(words.slice(0, -6), 5, 8, false);
  return bytes === undefined ? undefined : { hrp, data: Uint8Array.from(bytes) };
}
