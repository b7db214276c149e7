/**
 * Which V8 code cache the launcher (src/cli/launch.ts) may read, and when it may build
 * one (pure).
 *
 * A code cache is compiled code, and V8 checks little of it against the source (its
 * length; with --verify-snapshot-checksum, which the launcher sets, a checksum of the
 * cache itself): whoever can write it can run code in janee, the process that holds
 * the keys. So:
 * - it lives beside the bundle (dist/cli/), where writing it takes what writing the
 *   bundle itself takes, and not in a per-user cache directory, which every process of
 *   the user may write even when janee is installed read-only;
 * - it is never distributed (package.json `files` leaves it out): it is made on the
 *   machine that runs it, from the bundle that is there, so no package can carry code
 *   its bundle does not show;
 * - a file there is read only when it is a plain file owned by the bundle's owner and no
 *   more writable than the bundle: anything else is foreign, and ignored.
 *
 * Its name says which bundle and which node it is for: the bundle's content hash (baked
 * into the launcher at build time), the bundle's size and modification time (an edited
 * bundle never meets the cache of the old one), node's version and the architecture.
 */

/** What the launcher knows of a file: the parts of fs.Stats these checks read. */
export interface FileFacts {
  uid: number;
  mode: number;
  size: number;
  /** Nanoseconds, exact (a stat with `bigint: true`): milliseconds as a float round differently from one reading to the next. */
  mtimeNs: bigint;
  isFile: boolean;
}

/** A cache larger than this is not ours (janee's is about 1 MB). */
export const MAX_CACHE_BYTES = 64 * 1024 * 1024;

const CACHE_SUFFIX = '.v8cache';

/** The cache's file name for this bundle and this node (in the bundle's directory). */
export function cacheFileName(bundleId: string, bundle: FileFacts, nodeVersion: string, arch: string): string {
  return `bundle.${bundleId}.${bundle.size}.${bundle.mtimeNs}.${nodeVersion}-${arch}${CACHE_SUFFIX}`;
}

/** True for any cache the launcher may have written (old builds' included): the build removes them. */
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
 * Why this run must not build a cache, or undefined when it may (in the background, for
 * the next runs): it must run as the bundle's owner (whose file it writes), and with
 * node's default options, as the runs that will read it do (a cache fits only the V8
 * flags it was made under: one made for `NODE_OPTIONS=--max-old-space-size=…` would be
 * rejected by every plain run, which would make its own, and so on).
 */
export function mayNotBuild(
  bundle: FileFacts,
  uid: number | undefined,
  nodeOptions: string | undefined,
  execArgv: readonly string[],
): string | undefined {
  if (uid === undefined || uid !== bundle.uid) return "not the bundle's owner";
  if ((nodeOptions ?? '').trim() !== '' || execArgv.length > 0) return 'node runs with options';
  return undefined;
}

/** A build marker older than this is left over from a builder that died: it no longer stops another. */
export const STALE_BUILD_MS = 120_000;
