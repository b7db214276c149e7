/**
 * Which V8 code cache the launcher (src/cli/launch.ts) may read and write (pure).
 *
 * A code cache is compiled code: whoever can write it can run code in janee,
 * the process that holds the keys. So it lives beside the bundle (dist/cli/),
 * where writing it takes what writing the bundle itself takes, and not in a
 * per-user cache directory, which every process of the user may write even
 * when janee is installed read-only. A file there is used only when it is owned
 * by the bundle's owner and no more writable than the bundle: anything else is
 * foreign, and ignored.
 *
 * Its name says which build and which node it is for: the bundle's content hash
 * (baked into the launcher at build time), the bundle's size, node's version and
 * the CPU architecture. V8 itself checks the rest (its version, its flags, the
 * source length) and rejects a cache that does not fit (`cachedDataRejected`).
 */

/** What the launcher knows of a file: the parts of fs.Stats these checks read. */
export interface FileFacts {
  uid: number;
  mode: number;
  size: number;
  isFile: boolean;
}

/** A cache larger than this is not ours (janee's is about 1 MB). */
export const MAX_CACHE_BYTES = 64 * 1024 * 1024;

const CACHE_SUFFIX = '.v8cache';

/** The cache's file name for this bundle and this node (in the bundle's directory). */
export function cacheFileName(bundleId: string, bundleSize: number, nodeVersion: string, arch: string): string {
  return `bundle.${bundleId}.${bundleSize}.${nodeVersion}-${arch}${CACHE_SUFFIX}`;
}

/** True for any file the launcher may have written (old builds' included): the build removes them. */
export const isCacheFileName = (name: string): boolean => name.startsWith('bundle.') && name.endsWith(CACHE_SUFFIX);

/** Why a cache file beside the bundle must not be read, or undefined when it may be. */
export function foreignCache(cache: FileFacts, bundle: FileFacts): string | undefined {
  if (!cache.isFile) return 'not a regular file';
  if (cache.uid !== bundle.uid) return "not owned by the bundle's owner";
  // Group or world write bits the bundle itself does not have.
  if ((cache.mode & 0o022 & ~bundle.mode) !== 0) return 'writable by others than the bundle is';
  if (cache.size === 0 || cache.size > MAX_CACHE_BYTES) return 'of an impossible size';
  return undefined;
}

/**
 * Whether this process may write the cache: it runs as the bundle's owner (so the
 * file it writes is the owner's), and no code changed V8's flags since start (a
 * cache made under other flags is rejected by every process that starts without
 * them: serve caps its young generation with a flag, src/cli/heap.ts).
 */
export function mayWriteCache(bundle: FileFacts, uid: number | undefined, flagsChanged: boolean): boolean {
  return uid !== undefined && uid === bundle.uid && !flagsChanged;
}

/** Set on globalThis by code that changes V8 flags at run time (src/cli/heap.ts). */
export const FLAGS_CHANGED = Symbol.for('janee.v8.flagsChanged');
