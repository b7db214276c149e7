/**
 * The janee command line (the build bundles it into dist/cli/bundle.js, which the
 * binary, src/cli/launch.ts, runs). Parses with clipanion but owns error reporting: parse
 * errors go to stderr with exit 2, command failures to stderr with exit 1.
 */
import { Builtins, Cli, type BaseContext } from 'clipanion';
import { clean, printError, type Streams } from './io.js';
import { jsonError } from './json-errors.js';
import { commandsFor, isCommandWord } from './commands/index.js';
import { didYouMean, hasExtraPositionals, positionalError, withPlaceholders } from './usage.js';
import { VERSION } from '../version.js';

/** clipanion with value placeholders (`--base-url <url>`, not `#0`) in every help and usage text. */
class JaneeCli extends Cli {
  override usage(...args: Parameters<Cli['usage']>): string {
    return withPlaceholders(super.usage(...args));
  }
}

interface UsageProblem {
  message: string;
  hint: string;
}

/**
 * What to tell the user about a command line clipanion refused. Never echoes an
 * argument value (one may be a key): only option names and usage lines, which come
 * from the command definitions.
 */
function describeParseError(e: Error & { candidates?: { usage: string }[] }, argv: string[], cli: Cli): UsageProblem {
  const [first = 'invalid command line', usageLine = ''] = e.message.split('\n\n');
  const known = isCommandWord(argv[0]);
  const helpHint = `run \`janee --help\`${known ? ` or \`janee ${argv[0]} --help\`` : ''}`;
  if (/^Not enough positional arguments/.test(first) && usageLine.startsWith('$ ')) return positionalError('missing', argv, usageLine);
  if (/^Extraneous positional argument/.test(first) && usageLine.startsWith('$ ')) return positionalError('extra', argv, usageLine);
  if (/^Command not found/.test(first)) {
    if (known) {
      const distinct = [...new Set((e.candidates ?? []).map((c) => c.usage))];
      const only = distinct.length === 1 ? `$ ${distinct[0]}` : undefined;
      if (only !== undefined && hasExtraPositionals(argv, only)) return positionalError('extra', argv, only);
      const usages = [...new Set((e.candidates ?? []).map((c) => withPlaceholders(c.usage)))];
      return {
        message: `missing or invalid arguments for \`janee ${argv[0]}\``,
        hint: usages.length ? `usage: ${usages.join(' | ')}` : helpHint,
      };
    }
    const word = argv[0] ?? '';
    const words = [
      ...new Set(
        cli
          .definitions()
          .map((d) => d.path.split(' ')[1])
          .filter((w): w is string => w !== undefined),
      ),
    ];
    const guess = word.startsWith('-') ? undefined : didYouMean(word, words);
    return {
      message: `unknown command "${clean(word).slice(0, 40)}"`,
      hint: guess ? `did you mean \`janee ${guess}\`? (run \`janee --help\` for every command)` : helpHint,
    };
  }
  const msg = first
    .replace(/^Unknown Syntax Error: /, '')
    .replace(/\.$/, '')
    .replace(/ \("(-[^"=]*)?[^"]*"\)/, (_m, opt?: string) => (opt ? ` ("${opt}")` : '')); // never echo argument values: one may be a key
  return { message: `${msg.charAt(0).toLowerCase()}${msg.slice(1)}`, hint: helpHint };
}

/**
 * Runs one janee command line and returns its exit code. `io` replaces the process's
 * stdin/stdout/stderr (the in-process test runner passes its own); without it the
 * command uses the real ones.
 */
export async function main(argv: string[], io?: Streams): Promise<number> {
  // clipanion types its streams as stream.Readable/Writable; commands only use the Streams part.
  const context: BaseContext = { ...Cli.defaultContext, ...(io as Partial<BaseContext> | undefined) };
  const cli = new JaneeCli({ binaryName: 'janee', binaryLabel: 'Janee', binaryVersion: VERSION, enableColors: false });
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);
  for (const c of await commandsFor(argv)) cli.register(c);
  let command;
  try {
    command = cli.process(argv, context);
  } catch (e) {
    const { message, hint } = describeParseError(e as Error, argv, cli);
    context.stderr.write(`janee: error: ${message}\n`);
    context.stderr.write(`janee: hint: ${hint}\n`);
    if (argv.includes('--json')) context.stdout.write(`${jsonError('USAGE', message, hint)}\n`);
    return 2;
  }
  try {
    return await cli.run(command, context);
  } catch (e) {
    return printError(context.stderr, e);
  }
}

/**
 * Set (to true) on globalThis by a host that imports this module to call main()
 * itself, as the in-process test runner does. Otherwise this module is the janee
 * binary and runs the command line at once. A marker rather than comparing
 * import.meta.url with process.argv[1]: that breaks through npm's bin symlinks and
 * `node dist/cli/main` without the extension, and costs a realpath at every start.
 */
const EMBEDDED = Symbol.for('janee.cli.embedded');

if ((globalThis as Record<symbol, unknown>)[EMBEDDED] !== true) {
  // A reader that went away (`janee list | head -1`, a client that closed serve's stdout):
  // nothing more can be said to it; the command ends as it would, without a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

/**
 * Loads every module a command may need at start, and runs none: the build makes the
 * code cache from what this compiles (src/cli/launch.ts), so serve's MCP SDK and gate
 * are in it as much as the short commands.
 */
export async function warmModules(): Promise<void> {
  await commandsFor(['--help']);
  await Promise.all([import('../cli/serve-gate.js'), import('../gate/forward.js'), import('../http/server.js')]);
}
