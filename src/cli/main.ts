#!/usr/bin/env node
/**
 * The janee command line. Parses with clipanion but owns error reporting: parse
 * errors go to stderr with exit 2, command failures to stderr with exit 1.
 */
import { Builtins, Cli } from 'clipanion';
import { clean, printError } from './io.js';
import { commandsFor, isCommandWord } from './commands/index.js';
import { VERSION } from '../version.js';

export async function main(argv: string[]): Promise<number> {
  const cli = new Cli({ binaryName: 'janee', binaryLabel: 'Janee', binaryVersion: VERSION, enableColors: false });
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);
  for (const c of await commandsFor(argv)) cli.register(c);
  let command;
  try {
    command = cli.process(argv, Cli.defaultContext);
  } catch (e) {
    let msg = ((e as Error).message.split('\n')[0] ?? 'invalid command line').replace(/^Unknown Syntax Error: /, '').replace(/\.$/, '').replace(/ \("(-[^"=]*)?[^"]*"\)/, (_m, opt?: string) => (opt ? ` ("${opt}")` : '')); // never echo argument values: one may be a key
    const known = isCommandWord(argv[0]);
    if (/^command not found/i.test(msg)) msg = known ? `missing or invalid arguments for \`janee ${argv[0]}\`` : `unknown command "${clean(argv[0] ?? '').slice(0, 40)}"`;
    process.stderr.write(`janee: error: ${msg.charAt(0).toLowerCase()}${msg.slice(1)}\n`);
    process.stderr.write(`janee: hint: run \`janee --help\`${known ? ` or \`janee ${argv[0]} --help\`` : ''}\n`);
    return 2;
  }
  try {
    return await cli.run(command, Cli.defaultContext);
  } catch (e) {
    return printError(process.stderr, e);
  }
}

process.exitCode = await main(process.argv.slice(2));
