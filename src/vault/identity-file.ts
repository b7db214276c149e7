/**
 * The text of an age identity file, as `age-keygen` writes it and `age -d -i` reads it.
 * Pure. Nothing read from the file is ever put in a message (a damaged line may be a
 * secret key).
 */
import { JaneeError } from '../errors.js';
import { parseIdentity } from './x25519.js';

export const HINT_FILE = 'point --identity / JANEE_IDENTITY_FILE at a file made by `janee identity new` or `age-keygen`';

function invalid(message: string): JaneeError {
  return new JaneeError('IDENTITY_INVALID', message, HINT_FILE);
}

/**
 * The X25519 secret keys in an identity file's text (the caller wipes them). Like age:
 * lines starting with `#` and empty lines are skipped, every other line must be an
 * identity. A CR before the LF is tolerated (a file saved on Windows).
 */
export function parseIdentityText(text: Uint8Array, where: string): Uint8Array[] {
  const keys: Uint8Array[] = [];
  const lines = Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1').split('\n');
  try {
    lines.forEach((raw, i) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line === '' || line.startsWith('#')) return;
      if (line.startsWith('AGE-PLUGIN-')) throw invalid(`${where} line ${i + 1}: age plugin identities are not supported`);
      const key = parseIdentity(line);
      if (key === undefined) throw invalid(`${where} line ${i + 1} is not an age X25519 identity (AGE-SECRET-KEY-1…)`);
      keys.push(key);
    });
  } catch (e) {
    for (const k of keys) k.fill(0);
    throw e;
  }
  if (keys.length === 0) throw invalid(`${where} holds no identity`);
  return keys;
}
