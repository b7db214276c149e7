/**
 * Argument patterns for `commands.<name>.allow` / `deny` (pure).
 *
 * A pattern is words separated by spaces, matched against the argument list
 * (the program name is not part of it):
 *   - `*`   exactly one argument that does not start with "-" (a value, never an
 *           option: `pr view *` does not admit `pr view -Revil.example/o/r`);
 *   - `**`  any arguments, zero or more, options included (`pr list **`; in a deny,
 *           `** --hostname **` is "--hostname anywhere");
 *   - `PREFIX*` one argument that starts with PREFIX (`https://api.stripe.com/v1/*`);
 *   - `""` (the whole pattern empty): no arguments at all;
 *   - any other word: exactly that argument; "double quotes" make one word of
 *     text with spaces (`"Authorization: Bearer {{KEY}}"`), `*` included literally.
 * In a deny pattern `*` matches any one argument, options included: a deny must
 * not be dodged by an argument that looks like an option.
 *
 * Before matching, every `--name=value` argument is split into `--name` and
 * `value` (what getopt_long and the parsers of gh, git and stripe do), so
 * `pr list --limit *` admits `--limit 5` and `--limit=5` alike, and a deny on
 * `--hostname **` is not dodged by `--hostname=evil`. The program still gets the
 * arguments as sent (splitting changes the meaning of an optional-argument flag).
 * A pattern word `--name=value` is split the same way (`--name=*` is `--name *`).
 *
 * In a deny pattern an option word also matches the spellings programs accept
 * for it: a `--long` word matches any prefix of it of at least 3 letters after
 * the dashes (`--upload-pa` for `--upload-pack`: git's parse-options and
 * getopt_long take any unambiguous abbreviation), and a single-letter `-X`
 * word matches any short-option argument holding the letter: `-X` with its value
 * attached (`-Revil/o` for `-R`) and `-X` clustered behind other letters (`-vR`,
 * `-vRevil/o`), which pflag and getopt read as `-v -R …`. Which letters of a
 * cluster are flags and which a value depends on the program, so any `-…` argument
 * holding the letter is refused: over-matching a deny only refuses a call. A deny
 * `-X VALUE` also matches the value attached (`-XVALUE`, `-X=VALUE`, `-vXVALUE`).
 * Allow words match exactly.
 *
 * A call is allowed when no deny pattern matches and an allow pattern does.
 */

export type Token = { kind: 'word'; text: string } | { kind: 'prefix'; text: string } | { kind: 'one' } | { kind: 'rest' };

export interface Pattern {
  text: string;
  tokens: Token[];
}

/** Splits a pattern into words: bare words, or "double-quoted" ones (\" and \\ escapes) that may hold spaces. */
function words(text: string): { word: string; quoted: boolean }[] | string {
  const out: { word: string; quoted: boolean }[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i++;
      continue;
    }
    if (text[i] === '"') {
      let w = '';
      i++;
      for (;;) {
        if (i >= text.length) return 'a quoted word is not closed';
        const c = text[i]!;
        if (c === '"') break;
        if (c === '\\' && i + 1 < text.length) {
          w += text[i + 1]!;
          i += 2;
          continue;
        }
        w += c;
        i++;
      }
      i++;
      if (i < text.length && !/\s/.test(text[i]!)) return 'a quoted word must be followed by a space';
      out.push({ word: w, quoted: true });
    } else {
      const start = i;
      while (i < text.length && !/\s/.test(text[i]!)) i++;
      const w = text.slice(start, i);
      if (w.includes('"')) return `"${w}": quote a whole word, not part of one`;
      out.push({ word: w, quoted: false });
    }
  }
  return out;
}

/** A parsed pattern, or the reason it is not one. */
export function parsePattern(text: string): Pattern | string {
  const ws = words(text);
  if (typeof ws === 'string') return ws;
  // "" is the call with no arguments at all.
  const tokens: Token[] = [];
  for (const { word, quoted } of ws) {
    // `--name=value` is read as the two words `--name value`, as arguments are (splitArgs):
    // else a deny on `--upload-pack=*` never matched, not even the very spelling it names.
    const eq = word.indexOf('=');
    if (word.startsWith('--') && eq > 2) {
      tokens.push({ kind: 'word', text: word.slice(0, eq) });
      const value = word.slice(eq + 1);
      if (quoted || !value.includes('*')) tokens.push({ kind: 'word', text: value });
      else if (value === '*') tokens.push({ kind: 'one' });
      else if (value.endsWith('*') && !value.slice(0, -1).includes('*')) tokens.push({ kind: 'prefix', text: value.slice(0, -1) });
      else return `"${word}": "*" after "=" stands for the whole value, or ends a prefix (--repo=octo/*)`;
      continue;
    }
    const w = word;
    if (quoted) tokens.push({ kind: 'word', text: w });
    else if (w === '**') {
      if (tokens[tokens.length - 1]?.kind === 'rest') return '"** **" says nothing more than "**"';
      tokens.push({ kind: 'rest' });
    } else if (w === '*') tokens.push({ kind: 'one' });
    else if (w.endsWith('*') && !w.slice(0, -1).includes('*')) tokens.push({ kind: 'prefix', text: w.slice(0, -1) });
    else if (w.includes('*')) return `"${w}": "*" stands for a whole argument, or ends a prefix (https://api.example.com/v1/*)`;
    else tokens.push({ kind: 'word', text: w });
  }
  const shown = ws.map(({ word, quoted }) => (quoted ? JSON.stringify(word) : word)).join(' ');
  return { text: shown, tokens };
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
  // at(i, j, via): tokens from i on against args from j on. `via` >= 0: args[j] stands for
  // the value attached behind the short option of token `via` (a deny `-X DELETE` against
  // `-XDELETE`); -1: args[j] as sent. `**` may sit anywhere (`** --hostname **`), so states
  // already known to fail are remembered: O(tokens² × args) at worst.
  const failed = new Set<number>();
  const at = (i: number, j: number, via: number): boolean => {
    if (i === t.length) return j === args.length && via < 0;
    const key = (i * (args.length + 1) + j) * (t.length + 1) + via + 1;
    if (failed.has(key)) return false;
    const tok = t[i]!;
    let ok: boolean;
    if (tok.kind === 'rest') {
      ok = via >= 0 && at(i + 1, j, via);
      for (let k = via >= 0 ? j + 1 : j; k <= args.length && !ok; k++) ok = at(i + 1, k, -1);
    } else {
      const a = via >= 0 ? shortValue(t[via]!, args[j]!) : args[j];
      ok =
        a !== undefined &&
        (tok.kind === 'one'
          ? mode === 'deny' || !a.startsWith('-')
          : tok.kind === 'prefix'
            ? a.startsWith(tok.text) || (mode === 'deny' && optionSpelling(tok.text, a))
            : a === tok.text || (mode === 'deny' && optionSpelling(tok.text, a))) &&
        at(i + 1, j + 1, -1);
      // A deny `-X VALUE` also matches `-XVALUE` (and `-vXVALUE`, `-X=VALUE`): what follows
      // the letter may be the option's value, which the rest of the pattern then has to match.
      if (!ok && via < 0 && a !== undefined && mode === 'deny' && i + 1 < t.length && shortValue(tok, a) !== undefined)
        ok = at(i + 1, j, i);
    }
    if (!ok) failed.add(key);
    return ok;
  };
  return at(0, 0, -1);
}

/** The value attached in `a` to the short option word `tok` (`-XVAL`, `-vXVAL`, `-X=VAL` → `VAL` for `-X`), if any. */
function shortValue(tok: Token, a: string): string | undefined {
  if (tok.kind !== 'word' || !/^-[^-]$/.test(tok.text) || !optionSpelling(tok.text, a)) return undefined;
  const rest = a.slice(a.indexOf(tok.text[1]!, 1) + 1).replace(/^=/, '');
  return rest === '' ? undefined : rest;
}

/**
 * Shortest abbreviation of a `--long` option a deny word also matches (letters after
 * the dashes): one, since git takes `--e=` for `--exec` when no other option of that
 * command starts with e. A deny that over-matches only refuses a call.
 */
const MIN_ABBREV = 1;

/** True when `arg` is another spelling of the option `word` (deny only; see the header). */
function optionSpelling(word: string, arg: string): boolean {
  if (/^--[^-]/.test(word)) return arg.length >= 2 + MIN_ABBREV && arg.length < word.length && word.startsWith(arg);
  if (/^-[^-]$/.test(word)) return arg.length > 2 && arg[0] === '-' && arg[1] !== '-' && arg.includes(word[1]!, 1);
  return false;
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
