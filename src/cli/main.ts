#!/usr/bin/env node
/**
 * The janee command line. Parses with clipanion but owns error reporting: parse
 * errors go to stderr with exit 2, command failures to stderr with exit 1.
 */
import { Builtins, Cli } from 'clipanion';
import { printError } from './io.js';
import { commands } from './commands/index.js';
import { VERSION } from '../version.js';

export async function main(argv: string[]): Promise<number> {
  const cli = new Cli({ binaryName: 'janee', binaryLabel: 'Janee', binaryVersion: VERSION, enableColors: false });
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);
  for (const c of commands) cli.register(c);
  let command;
  try {
    command = cli.process(argv, Cli.defaultContext);
  } catch (e) {
    let msg = ((e as Error).message.split('\n')[0] ?? 'invalid command line').replace(/^Unknown Syntax Error: /, '').replace(/\.$/, '');
    if (/^command not found/i.test(msg)) msg = `unknown command "${argv[0] ?? ''}"`;
    process.stderr.write(`janee: error: ${msg.charAt(0).toLowerCase()}${msg.slice(1)}\n`);
    process.stderr.write(`janee: hint: run \`janee --help\`${argv[0] ? ` or \`janee ${argv[0]} --help\`` : ''}\n`);
    return 2;
  }
  try {
    return await cli.run(command, Cli.defaultContext);
  } catch (e) {
    return printError(process.stderr, e);
  }
}

process.exitCode = await main(process.argv.slice(2));
