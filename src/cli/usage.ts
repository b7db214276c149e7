/**
 * Help and usage-error text on top of clipanion 3.2.1 (pure functions):
 * - value placeholders: clipanion prints every option value as `#0` (the text is
 *   fixed in its usage builder; there is no per-option placeholder setting), so
 *   the help and usage lines are rewritten with the names below;
 * - usage errors that name the missing or extra positional argument, read from the
 *   command's usage line, and never echo what the user typed (it may be a key);
 * - did-you-mean for unknown command words.
 */

/** Placeholder for each option that takes a value. A test checks every command's help has no `#0`/`<value>`. */
const PLACEHOLDERS: Record<string, string> = {
  '--base-url': 'url',
  '--auth': 'type',
  '--key': 'key',
  '--key-from-env': 'var',
  '--username': 'user',
  '--header': 'name',
  '--param': 'name',
  '--policy': 'rule',
  '--deny': 'rule',
  '--rate-limit': 'n/unit',
  '--work-factor': 'n',
  '--age': 'file',
  '--vault': 'file',
  '--socket': 'path',
  '--ready-fd': 'fd',
  '--command': 'cmd',
  '--lines': 'n',
  '--service': 'name',
  '--agent': 'name',
  '--from': 'dir',
  '--ttl': 'duration',
  '--max-ttl': 'duration',
  '--for': 'duration',
  '--template': 'name',
  '--test-path': 'path',
  '--services': 'a,b',
  '--expires': 'duration',
  '--http': '[host:]port',
  '--allow-origin': 'origin',
  '--allow-host': 'name',
  '--tls-cert': 'file',
  '--tls-key': 'file',
  '--field-file': 'name=path',
  '--authorize': 'url',
  '--recipient': 'age1…',
  '--identity': 'file',
  '--out': 'file',
  '--name': 'name',
};

/** `--base-url #0` → `--base-url <url>`; `-n,--lines #0` → `-n,--lines <n>`; unknown options get `<value>`. */
export function withPlaceholders(text: string): string {
  return text.replace(/((?:-[A-Za-z]|--[A-Za-z][\w-]*)(?:,(?:-[A-Za-z]|--[A-Za-z][\w-]*))*) #0/g, (_m, names: string) => {
    const long = names.split(',').find((n) => n.startsWith('--')) ?? names;
    return `${names} <${PLACEHOLDERS[long] ?? 'value'}>`;
  });
}

interface UsageShape {
  /** Options that take a value (every name: `-n`, `--lines`). */
  valueOptions: Set<string>;
  required: string[];
  optional: string[];
  rest: boolean;
  /** Words of the command path after the binary name: ['logs', 'verify']. */
  path: string[];
}

/** Reads a clipanion usage line: `janee add <--base-url #0> [--auth #0] [--json] <name> [path] ...`. */
function parseUsageLine(line: string, binaryName = 'janee'): UsageShape {
  const shape: UsageShape = { valueOptions: new Set(), required: [], optional: [], rest: false, path: [] };
  const tokens = line.replace(/^\$ /, '').match(/<[^>]*>|\[[^\]]*\]|\S+/g) ?? [];
  let inPath = true;
  for (const t of tokens) {
    if (t === binaryName && shape.path.length === 0 && inPath) continue;
    const inner = t.startsWith('<') || t.startsWith('[') ? t.slice(1, -1) : t;
    if (inner.startsWith('-')) {
      inPath = false;
      const [names, arg] = inner.split(' ');
      if (arg !== undefined) for (const n of (names ?? '').split(',')) shape.valueOptions.add(n);
    } else if (t === '...') {
      shape.rest = true;
    } else if (t.startsWith('<')) {
      inPath = false;
      shape.required.push(t);
    } else if (t.startsWith('[')) {
      inPath = false;
      shape.optional.push(t);
    } else if (inPath) {
      shape.path.push(t);
    }
  }
  return shape;
}

/** How many positional arguments `argv` gives the command `shape` describes (options and their values skipped). */
function countPositionals(argv: readonly string[], shape: UsageShape): number {
  let n = 0;
  let i = shape.path.length;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return n + (argv.length - i - 1);
    if (a.startsWith('-') && a.length > 1) {
      if (!a.includes('=') && shape.valueOptions.has(a)) i++;
      continue;
    }
    n++;
  }
  return n;
}

function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  return `${n}${teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')}`;
}

function list(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Whether argv has more positional arguments than the usage line takes (clipanion then says "command not found" when the command has an optional one). */
export function hasExtraPositionals(argv: readonly string[], usageLine: string): boolean {
  const shape = parseUsageLine(usageLine);
  return !shape.rest && countPositionals(argv, shape) > shape.required.length + shape.optional.length;
}

/**
 * The error and hint for clipanion's "Not enough positional arguments" and
 * "Extraneous positional argument", naming the argument by its place in the
 * usage line, never by the value typed.
 */
export function positionalError(kind: 'missing' | 'extra', argv: readonly string[], usageLine: string): { message: string; hint: string } {
  const shape = parseUsageLine(usageLine);
  const cmd = `janee ${shape.path.join(' ')}`;
  const takes = [...shape.required, ...shape.optional, ...(shape.rest ? ['...'] : [])].join(' ');
  const given = countPositionals(argv, shape);
  const usage = `usage: ${withPlaceholders(usageLine.replace(/^\$ /, ''))}`;
  if (kind === 'missing') {
    const missing = shape.required.slice(Math.min(given, shape.required.length));
    const what = missing.length
      ? `missing positional ${missing.length === 1 ? 'argument' : 'arguments'} ${list(missing)}`
      : 'missing positional arguments';
    return { message: `${what} for \`${cmd}\``, hint: usage };
  }
  const max = shape.required.length + shape.optional.length;
  const extra = Math.max(1, given - max);
  const message = `${extra === 1 ? 'one argument' : `${extra} arguments`} too many for \`${cmd}\` (the ${ordinal(max + 1)}${extra > 1 ? ' on' : ''}; it takes ${takes || 'none'})`;
  const rules = shape.valueOptions.has('--policy') || shape.valueOptions.has('--deny');
  return { message, hint: rules ? `a rule with a space needs quotes: --policy 'GET /v1/x'; ${usage}` : usage };
}

/** Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest word within 1 edit (2 for words of 5 letters or more), or undefined. */
export function didYouMean(word: string, words: readonly string[]): string | undefined {
  const w = word.toLowerCase().slice(0, 40);
  const limit = w.length >= 5 ? 2 : 1;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of words) {
    const dist = editDistance(w, c);
    if (dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  return bestD <= limit ? best : undefined;
}
