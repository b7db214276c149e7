/**
 * Reading the vault fields of a multi-field auth type (aws-sigv4, hmac, oauth1a, headers,
 * oauth2, github-app, google-service-account) for `janee add` and `janee set`:
 *
 * - `--field-file NAME=PATH` reads a field from a file: required for the file fields (a
 *   PEM private key, a JSON key), which are stored base64-encoded; any other field may
 *   come from a file too (one trailing newline stripped).
 * - The other fields: asked for one by one without echo on a terminal (an optional one
 *   may be left empty); with --key-stdin, one line of stdin each, in the order
 *   `janee add --help`'s table (docs/auth.md) gives; --key / --key-from-env only when a
 *   single field is left to give.
 *
 * Like keyReader, the flags are checked at once and the values read later (after the
 * vault is open, so nothing typed is lost to a wrong passphrase).
 */
import * as fs from 'node:fs/promises';
import { Option } from 'clipanion';
import { authFields, type AuthSpec, type FieldSpec } from '../auth/types.js';
import { JaneeError, usageError } from '../errors.js';
import { isValidFieldValue, MAX_FIELD_VALUE } from '../vault/payload.js';
import type { Streams } from './io.js';
import { keyReader } from './key-input.js';
import { fileProblem } from '../auth/file.js';
import { promptHidden, readStdinAll } from './passphrase.js';

/** Largest file a field is read from (a PEM key is ~3 KiB, a Google JSON key ~2.4 KiB). */
const MAX_FIELD_FILE = 64 * 1024;

export const fieldFileOption = () =>
  Option.Array('--field-file', {
    description: 'NAME=PATH: read vault field NAME from a file (a PEM or JSON key; see docs/auth.md)',
  });

interface Flags {
  key?: string | undefined;
  keyStdin: boolean;
  keyFromEnv?: string | undefined;
  passphraseStdin: boolean;
  fieldFile?: string[] | undefined;
}

/** True when the type's fields are read here rather than as one key (bearer, basic, header, query). */
export function isMultiField(auth: AuthSpec): boolean {
  return !['bearer', 'basic', 'header', 'query'].includes(auth.type);
}

/** `skip`: fields not asked for (a refresh token `--authorize` obtains). */
export function fieldsReader(
  io: Streams,
  flags: Flags,
  auth: AuthSpec,
  service: string,
  skip: readonly string[] = [],
): () => Promise<Record<string, string>> {
  const specs = authFields(auth).filter((s) => !skip.includes(s.name));
  const byName = new Map(specs.map((s) => [s.name, s]));
  const files = new Map<string, string>();
  for (const arg of flags.fieldFile ?? []) {
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const file = eq < 0 ? '' : arg.slice(eq + 1);
    if (!byName.has(name) || file === '')
      throw usageError(
        `--field-file wants NAME=PATH with NAME one of: ${specs.map((s) => s.name).join(', ')}`,
        `auth type ${auth.type} stores those fields`,
      );
    if (files.has(name)) throw usageError(`--field-file ${name} is given twice`);
    files.set(name, file);
  }
  for (const s of specs) {
    if (s.file !== undefined && !files.has(s.name) && !s.optional)
      throw usageError(`auth type ${auth.type} needs --field-file ${s.name}=PATH`, `${s.name} is ${s.label}`);
  }
  const rest = specs.filter((s) => !files.has(s.name));
  let readRest: () => Promise<(string | undefined)[]>;
  if (flags.key !== undefined || flags.keyFromEnv !== undefined) {
    if (rest.filter((s) => !s.optional).length !== 1 || rest.length !== 1) {
      throw usageError(
        `${flags.key !== undefined ? '--key' : '--key-from-env'} gives one value, and auth type ${auth.type} needs ${rest.length === 0 ? 'none besides the files' : rest.map((s) => s.name).join(', ')}`,
        'type them at the prompt, or give one per line with --key-stdin',
      );
    }
    const one = keyReader(io, flags, () => '');
    readRest = async () => [await one()];
  } else if (rest.length === 0) {
    readRest = () => Promise.resolve([]);
  } else if (flags.keyStdin) {
    if (flags.passphraseStdin)
      throw usageError('--key-stdin and --passphrase-stdin both want stdin', 'use JANEE_PASSPHRASE_FILE for the passphrase');
    readRest = async () => {
      const text = Buffer.from(await readStdinAll(io.stdin)).toString('utf8');
      const lines = text === '' ? [] : text.split(/\r?\n/);
      if (lines.length > rest.length)
        throw new JaneeError(
          'BAD_KEY',
          `stdin has ${lines.length} lines; auth type ${auth.type} takes ${rest.length}: ${rest.map((s) => s.name).join(', ')}`,
        );
      return rest.map((_, i) => lines[i]);
    };
  } else if (io.stdin.isTTY && io.stderr.isTTY) {
    readRest = async () => {
      const out: (string | undefined)[] = [];
      for (const s of rest) {
        const v = Buffer.from(await promptHidden(io, `${s.name} for ${service} (${s.label}): `)).toString('utf8');
        out.push(v);
      }
      return out;
    };
  } else {
    throw new JaneeError(
      'NO_KEY',
      'no secret given and no terminal to ask on',
      `give ${rest.map((s) => s.name).join(', ')} one per line on stdin with --key-stdin${specs.some((s) => s.file) ? ', and the files with --field-file NAME=PATH' : ''}`,
    );
  }
  return async () => {
    const fields: Record<string, string> = {};
    try {
      for (const [name, file] of files) fields[name] = await readFieldFile(byName.get(name) as FieldSpec, file);
      const values = await readRest();
      rest.forEach((s, i) => {
        const v = values[i];
        if (v === undefined || v === '') {
          if (s.optional) return;
          throw new JaneeError('NO_KEY', `no value for ${s.name} (${s.label})`, 'every field but the optional ones needs a value');
        }
        if (v.length > MAX_FIELD_VALUE)
          throw new JaneeError('BAD_KEY', `${s.name} is longer than ${MAX_FIELD_VALUE / 1024} KiB`, 'give exactly the value');
        if (!isValidFieldValue(v))
          throw new JaneeError('BAD_KEY', `${s.name} contains a line break or another control character`, 'give exactly the value');
        fields[s.name] = v;
      });
      return fields;
    } catch (e) {
      for (const k of Object.keys(fields)) fields[k] = '';
      throw e;
    }
  };
}

/** A field from a file: file fields checked and base64-encoded; others as one line of text. */
async function readFieldFile(spec: FieldSpec, file: string): Promise<string> {
  let bytes: Buffer;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOTFILE' });
    if (st.size > MAX_FIELD_FILE)
      throw new JaneeError('BAD_KEY', `${spec.name}: the file is larger than ${MAX_FIELD_FILE} bytes`, `is it ${spec.label}?`);
    bytes = await fs.readFile(file);
  } catch (e) {
    if (e instanceof JaneeError) throw e;
    throw new JaneeError(
      'BAD_KEY',
      `${spec.name}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      'check the path',
    );
  }
  try {
    if (spec.file === undefined) {
      const text = bytes.toString('utf8').replace(/\r?\n$/, '');
      if (text.length > MAX_FIELD_VALUE)
        throw new JaneeError(
          'BAD_KEY',
          `${spec.name}: the file is longer than ${MAX_FIELD_VALUE / 1024} KiB`,
          `it should hold ${spec.label}`,
        );
      if (!isValidFieldValue(text))
        throw new JaneeError('BAD_KEY', `${spec.name}: the file is empty or has more than one line`, `it should hold ${spec.label}`);
      return text;
    }
    const problem = fileProblem(spec.file, bytes);
    if (problem) throw new JaneeError('BAD_KEY', `${spec.name}: ${problem}`, `it should be ${spec.label}`);
    return bytes.toString('base64');
  } finally {
    bytes.fill(0);
  }
}
