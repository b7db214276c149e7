/**
 * Environment variables that may hold a passphrase (or point at one), and the
 * environment janee hands to anything it spawns: never any of them.
 */
export const PASSPHRASE_ENV: readonly string[] = [
  'JANEE_PASSPHRASE',
  'JANEE_PASSPHRASE_FILE',
  'JANEE_NEW_PASSPHRASE',
  'JANEE_NEW_PASSPHRASE_FILE',
  'JANEE_AGE_PASSPHRASE',
  'JANEE_AGE_PASSPHRASE_FILE',
];

export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !PASSPHRASE_ENV.includes(k)) out[k] = v;
  return out;
}
