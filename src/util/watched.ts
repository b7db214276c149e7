/**
 * A value derived from a file, reloaded when the file changes. The file is
 * stat'ed at most once per `maxAgeMs`, so callers on the per-call path pay for
 * a stat a few times a second, not on every call, and still see an edit within
 * `maxAgeMs` (config.yaml, the vault, the kill switch).
 */
import * as fs from 'node:fs/promises';

export class WatchedFile<T> {
  #value: T | undefined;
  #error: Error | undefined = undefined;
  #stamp = '';
  #checkedAt = -Infinity;
  #pending: Promise<T> | undefined;

  constructor(
    readonly file: string,
    private readonly load: (file: string, previous: T | undefined) => Promise<T>,
    private readonly maxAgeMs = 250,
  ) {}

  /** The current value; reloads if the file changed. A failed load is rethrown until the file changes again. */
  get(): Promise<T> {
    if (performance.now() - this.#checkedAt < this.maxAgeMs && this.#pending === undefined) {
      if (this.#error !== undefined) return Promise.reject(this.#error);
      return Promise.resolve(this.#value as T);
    }
    this.#pending ??= this.#refresh().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  /** Forget the cached value: the next get() stats and reloads. */
  invalidate(): void {
    this.#checkedAt = -Infinity;
    this.#stamp = '';
  }

  async #refresh(): Promise<T> {
    const stamp = await fs.stat(this.file, { bigint: true }).then(
      (s) => `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`,
      (e: NodeJS.ErrnoException) => `missing:${e.code}`,
    );
    this.#checkedAt = performance.now();
    if (stamp !== this.#stamp) {
      this.#stamp = stamp;
      try {
        this.#value = await this.load(this.file, this.#value);
        this.#error = undefined;
      } catch (e) {
        this.#error = e instanceof Error ? e : new Error(String(e));
      }
    }
    if (this.#error !== undefined) throw this.#error;
    return this.#value as T;
  }
}
