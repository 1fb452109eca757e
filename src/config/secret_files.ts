/**
 * The files wgcage read a private key or a PSK from (a config file,
 * `--wg-private-key-file`, `--wg-psk-file`), as paths for the cage to cover.
 * The cage shares the host's file system, so without a cover the command
 * could simply read the key back from where wgcage found it.
 *
 * Each file is named by its resolved path (the file behind every symlink),
 * and by the path as given when that differs and is itself a file (e.g. one
 * reached through a symlinked directory, on another mount of the same
 * tree). A path that ends in a symlink needs no cover of its own: it leads
 * to the covered file. Standard input, a pipe or a FIFO (`--config
 * /dev/stdin`, `<(…)`) leave no file behind to cover; a device node is
 * never covered.
 *
 * @module
 */

/** What resolving needs from the file system (the host's, or a fake in tests). */
export interface SecretFileFs {
  /** The path with every symlink resolved; undefined when it cannot be. */
  realPath(path: string): string | undefined;
  /** Whether `path` itself (a final symlink not followed) is a regular file. */
  isRegularFile(path: string): boolean;
  /** The working directory, for relative paths. */
  cwd(): string;
}

/** The host's file system. */
export const hostSecretFileFs: SecretFileFs = {
  realPath(path) {
    try {
      return Deno.realPathSync(path);
    } catch {
      return undefined;
    }
  },
  isRegularFile(path) {
    try {
      return Deno.lstatSync(path).isFile;
    } catch {
      return false;
    }
  },
  cwd: () => Deno.cwd(),
};

/**
 * The absolute paths to cover for the secret files read from `paths` (as
 * given on the command line), each once.
 *
 * @example
 * ```ts
 * import { secretFileCovers } from "./secret_files.ts";
 * secretFileCovers(["/etc/wireguard/wg0.conf"]); // ["/etc/wireguard/wg0.conf"] when it exists
 * ```
 */
export function secretFileCovers(
  paths: readonly string[],
  fs: SecretFileFs = hostSecretFileFs,
): string[] {
  const covers = new Set<string>();
  for (const path of paths) {
    const real = fs.realPath(path);
    const realIsFile = real !== undefined && fs.isRegularFile(real);
    if (realIsFile) covers.add(real);
    // As given, but absolute, and not normalized: "a/link/../b" is the file
    // the kernel opens, which a lexical clean-up might not name. (Mostly it
    // is the resolved path itself, looked at already.)
    const given = path.startsWith("/") ? path : `${fs.cwd().replace(/\/+$/, "")}/${path}`;
    if (given === real ? realIsFile : fs.isRegularFile(given)) covers.add(given);
  }
  return [...covers];
}
