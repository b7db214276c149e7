/**
 * Argument patterns for `commands.<name>.allow` / `deny` (pure).
 *
 * A pattern is words separated by spaces, matched against the argument list
 * (the program name is not part of it):
 *   - `*`   exactly one argument that does not start with "-" (a value, never an
 *           option: `pr view *` does not admit `pr view -Revil.example/o/r`);
 *   - `**`  the rest of the arguments, zero or more, options included (last word only);
 *   - any other word: exactly that argument.
 * In a deny pattern `*` matches any one argument, options included: a deny must
 * not be dodged by an argument that looks like an option.
 *
 * Before matching, every `--name=value` argument is split into `--name` and
 * `value` (what getopt_long and the parsers of gh, git and stripe do), so
 * `pr list --limit *` admits `--limit 5` and `--limit=5` alike, and a deny on
 * `--hostname **` is not dodged by `--hostname=evil`. The program still gets the
 * arguments as sent (splitting changes the meaning of an optional-argument flag).
 *
 * A call is allowed when no deny pattern matches and an allow pattern does.
 */

export type Token = { kind: 'word'; text: string } | { kind: 'one' } | { kind: 'rest' };

export interface Pattern {
  text: string;
  tokens: Token[];
}

/** A parsed pattern, or the reason it is not one. */
export function parsePattern(text: string): Pattern | string {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  if (words.length === 0) return 'a pattern needs at least one word (write "**" for any arguments)';
  const tokens: Token[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '**') {
      if (i !== words.length - 1) return '"**" may only be the last word';
      tokens.push({ kind: 'rest' });
    } else if (w === '*') tokens.push({ kind: 'one' });
    else if (w.includes('*')) return `"${w}": "*" stands for a whole argument; it cannot be part of a word`;
    else tokens.push({ kind: 'word', text: w });
  }
  return { text: words.join(' '), tokens };
}

/** The arguments as the policy sees them: each `--name=value` split in two. */
export function splitArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    const eq = a.indexOf('=');
    if (a.startsWith('--') && a.length > 2 && eq > 2) out.push(a.slice(0, eq), a.slice(eq + 1));
    else out.push(a);
  }
  return out;
}

export function matches(p: Pattern, args: readonly string[], mode: 'allow' | 'deny'): boolean {
  const t = p.tokens;
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    if (tok.kind === 'rest') return true;
    const a = args[i];
    if (a === undefined) return false;
    if (tok.kind === 'one') {
      if (mode === 'allow' && a.startsWith('-')) return false;
    } else if (a !== tok.text) return false;
  }
  return args.length === t.length;
}

export type ArgDecision = { allowed: true; rule: string } | { allowed: false; rule: string | undefined };

/** Deny wins; then the first allow that matches. `args` as sent (split here). */
export function decideArgs(allow: readonly Pattern[], deny: readonly Pattern[], args: readonly string[]): ArgDecision {
  const split = splitArgs(args);
  const d = deny.find((p) => matches(p, split, 'deny'));
  if (d) return { allowed: false, rule: `deny ${d.text}` };
  const a = allow.find((p) => matches(p, split, 'allow'));
  if (a) return { allowed: true, rule: `allow ${a.text}` };
  return { allowed: false, rule: undefined };
}

/**
 * Programs that can be told, through their arguments, to send their environment
 * (and so the key) somewhere else, or to run something that can: a `**` allow
 * on one of them hands the key to wherever the agent points it.
 */
const FORWARDERS = new Set([
  'curl',
  'wget',
  'git',
  'gh',
  'ssh',
  'scp',
  'rsync',
  'env',
  'sh',
  'bash',
  'dash',
  'zsh',
  'fish',
  'ksh',
  'python',
  'python3',
  'node',
  'deno',
  'bun',
  'perl',
  'ruby',
  'php',
  'npx',
  'npm',
  'xargs',
  'find',
  'awk',
  'make',
  'docker',
  'kubectl',
  'aws',
  'gcloud',
  'stripe',
]);

/** True when `program`'s base name is a known forwarder and some allow pattern ends in `**`. */
export function isBroadForwarder(program: string, allow: readonly Pattern[]): boolean {
  const base = (program.split('/').pop() ?? program).replace(/[0-9.]+$/, '');
  if (!FORWARDERS.has(base) && !FORWARDERS.has(program.split('/').pop() ?? '')) return false;
  return allow.some((p) => p.tokens.some((t) => t.kind === 'rest'));
}
