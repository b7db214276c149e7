/**
 * A weak-passphrase warning for `init` and `passwd` (pure). Anyone with a copy of
 * vault.janee (a public dotfiles repo, a backup) can guess offline; scrypt slows
 * each guess, it does not save a short or common passphrase. janee warns and
 * carries on: the user decides, as gpg and age-keygen leave it to them.
 */

/** Below this many characters a passphrase is called short. */
const MIN_PASSPHRASE_LENGTH = 12;

const COMMON = [
  'password',
  'passw0rd',
  'letmein',
  'welcome',
  'iloveyou',
  'admin',
  'monkey',
  'dragon',
  'qwerty',
  'azerty',
  'sunshine',
  'princess',
  'football',
  'baseball',
  'master',
  'shadow',
  'secret',
  'trustno1',
  'changeme',
  'janee',
];
const SEQUENCES = ['0123456789', 'abcdefghijklmnopqrstuvwxyz', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];

/**
 * Why a passphrase is weak (empty: no objection). Never includes the passphrase
 * itself. Takes the bytes as janee holds them; the decoded string it makes to
 * judge them cannot be wiped (SECURITY.md, JavaScript memory) and lives until GC.
 */
export function passphraseWeaknesses(passphrase: Uint8Array | string): string[] {
  const p = (typeof passphrase === 'string' ? passphrase : new TextDecoder().decode(passphrase)).normalize('NFKC');
  const lower = p.toLowerCase();
  const why: string[] = [];
  const length = [...p].length;
  if (length < MIN_PASSPHRASE_LENGTH) why.push(`shorter than ${MIN_PASSPHRASE_LENGTH} characters`);
  if (/^\d+$/.test(p)) why.push('only digits');
  else if (/^[a-z]+$/i.test(p) && length < 16) why.push('a single word of letters');
  if (new Set(p).size <= Math.max(2, Math.floor(length / 4))) why.push('mostly one repeated character');
  const stripped = lower.replace(/[^a-z0-9]/g, '');
  if (COMMON.some((w) => stripped.includes(w))) why.push('contains a common password');
  if (stripped.length >= 4 && isMostlySequence(stripped)) why.push('a keyboard or alphabet sequence');
  return why;
}

/** The warning line for a weak new passphrase, or undefined. */
export function weakPassphraseWarning(passphrase: Uint8Array): string | undefined {
  const why = passphraseWeaknesses(passphrase);
  if (why.length === 0) return undefined;
  return `this passphrase is weak (${why.join('; ')}): anyone with a copy of the vault file can try to guess it offline`;
}

/** Whether most neighbouring characters are neighbours in a sequence (either direction, wrapping: 9→0). */
function isMostlySequence(s: string): boolean {
  let steps = 0;
  for (let i = 1; i < s.length; i++) {
    const a = s[i - 1]!;
    const b = s[i]!;
    const adjacent = SEQUENCES.some((seq) => {
      const x = seq.indexOf(a);
      const y = seq.indexOf(b);
      return x >= 0 && y >= 0 && ((x + 1) % seq.length === y || (y + 1) % seq.length === x);
    });
    if (adjacent) steps++;
  }
  return steps >= 0.8 * (s.length - 1);
}
