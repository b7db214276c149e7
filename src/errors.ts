/**
 * JaneeError is the only error type users see. `code` is stable (tests and
 * scripts match on it), `message` is one short lowercase sentence saying what went
 * wrong, `hint` says what to do next. None of the three may ever contain a secret.
 */
export class JaneeError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  /** Process exit code when this error ends a CLI command: 1 failure, 2 usage. */
  readonly exitCode: number;

  constructor(code: string, message: string, hint?: string, exitCode = 1) {
    super(message);
    this.name = 'JaneeError';
    this.code = code;
    this.hint = hint;
    this.exitCode = exitCode;
  }

  toJSON(): { code: string; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

export function isJaneeError(e: unknown): e is JaneeError {
  return e instanceof JaneeError;
}

/** A usage error (exit 2). */
export function usageError(message: string, hint?: string): JaneeError {
  return new JaneeError('USAGE', message, hint, 2);
}
