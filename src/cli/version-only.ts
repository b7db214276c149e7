/** Command lines that only print the version: they need no command module, and the launcher answers them without the bundle. */
const VERSION_ONLY = new Set(['--version', '-v']);

export const isVersionOnly = (argv: readonly string[]): boolean => argv.length === 1 && VERSION_ONLY.has(argv[0] ?? '');
