/**
 * Key material wiped by scope. `using key = secret(bytes)` zeroes `bytes` when the
 * block ends, however it ends (return, throw), instead of hand-written `fill(0)` in
 * nested try/finally blocks. When the bytes are handed to another owner that will
 * wipe them itself (an agent adopting the file key, a result returned to a caller),
 * `take()` says so explicitly and the scope no longer wipes them.
 *
 * JavaScript gives no hard guarantee beyond this (copies made by the GC, by Node's
 * crypto, by strings): see SECURITY.md.
 */
export class SecretBytes implements Disposable {
  #bytes: Uint8Array | undefined;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** The bytes, while this scope still owns them. */
  get bytes(): Uint8Array {
    if (this.#bytes === undefined) throw new Error('secret bytes used after they were handed over');
    return this.#bytes;
  }

  /** Hands the bytes to a new owner, who must wipe them; this scope no longer will. */
  take(): Uint8Array {
    const b = this.bytes;
    this.#bytes = undefined;
    return b;
  }

  [Symbol.dispose](): void {
    this.#bytes?.fill(0);
    this.#bytes = undefined;
  }
}

/** `using key = secret(await unwrapFileKey(…))`: wiped when the block ends unless taken. */
export function secret(bytes: Uint8Array): SecretBytes {
  return new SecretBytes(bytes);
}
