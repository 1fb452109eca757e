/**
 * Where the launcher and the cage's init come from. Built from source or
 * compiled (`deno compile`), their bytes are in the program (a `data:` URL of
 * the launcher's asset module); the bundle beside the source tree and the npm
 * package hold each in a file (a `file:` URL, tools/embedded_assets.ts).
 *
 * A file is used as it is (dlopen'ed, exec'd) only when no one but root can
 * change it: a library is mapped privately, but the pages of a file written in
 * place show through such a mapping until wgcage writes them itself, so a
 * launcher file the caged command (or any process of the user's) could write
 * would let it run its code inside wgcage, next to the keys, during the run.
 * Otherwise wgcage takes a private copy, as it does of embedded bytes: runc
 * copies itself into a memfd for the same reason (a container rewrote the
 * host's runc through /proc/self/exe, CVE-2019-5736). A file only root can
 * write is no worse than wgcage.js beside it, which root could rewrite just
 * as well, and is read by no one else's hand: the bundle names it by its hash
 * but nothing checks that hash at run time (nor did the copy before), so
 * hashing 0.9 MB on each start would protect against root only. A command
 * started by root without sudo can write it, but that command is root over
 * the host's files already (SECURITY.md).
 *
 * @module
 */

/** The part of a `Deno.FileInfo` the check reads. */
export interface Owner {
  uid: number | null;
  mode: number | null;
  isFile: boolean;
  isDirectory: boolean;
}

const STICKY = 0o1000;
const GROUP_OTHER_WRITE = 0o022;

/**
 * Whether only root can change `file` (the lstat of a real path) when its
 * directories, `dirs`, from `/` down, are as given: every one owned by root,
 * none writable by its group or others; a directory others may write is
 * allowed when it is sticky (they cannot rename or remove root's entries in
 * it, as in /tmp).
 */
export function onlyRootWrites(file: Owner, dirs: readonly Owner[]): boolean {
  if (!file.isFile || file.uid !== 0 || file.mode === null) return false;
  if ((file.mode & GROUP_OTHER_WRITE) !== 0) return false;
  return dirs.every((d) =>
    d.isDirectory && d.uid === 0 && d.mode !== null &&
    ((d.mode & GROUP_OTHER_WRITE) === 0 || (d.mode & STICKY) !== 0)
  );
}

/** The directories leading to the absolute path `path`: `/`, `/a`, `/a/b` for `/a/b/c`. */
export function directoriesOf(path: string): string[] {
  const parts = path.split("/").filter((p) => p !== "");
  const dirs = ["/"];
  for (let i = 1; i < parts.length; i++) dirs.push(`/${parts.slice(0, i).join("/")}`);
  return dirs;
}

/**
 * Directories looked at, by path: the launcher and the init lie in the same
 * one. Kept: one that only root could write, only root could have changed.
 */
const seen = new Map<string, Owner>();

function directory(path: string): Owner {
  let info = seen.get(path);
  if (info === undefined) seen.set(path, info = Deno.lstatSync(path));
  return info;
}

/**
 * The path of the file a binary's URL names, when it is a `file:` URL and
 * only root can change that file (see the module's comment); undefined for
 * embedded bytes (`data:`), a file others can write, or one that is gone.
 * `executable` also asks that everyone may exec it: under sudo the cage's
 * child is the invoking user when it execs the init.
 */
export function rootOwnedFile(url: string, executable: boolean): string | undefined {
  // `file:///path`, as `new URL(…, import.meta.url).href` writes it (parsed
  // by hand: the first URL parsed costs ~0.2 ms).
  if (!url.startsWith("file:///")) return undefined;
  try {
    const path = Deno.realPathSync(decodeURIComponent(url.slice("file://".length)));
    const file = Deno.lstatSync(path);
    if (executable && ((file.mode ?? 0) & 0o001) === 0) return undefined;
    return onlyRootWrites(file, directoriesOf(path).map(directory)) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** The bytes of a binary: decoded from its `data:` URL, or read from its file. */
export function binaryBytes(url: string): Uint8Array {
  if (url.startsWith("data:")) return Uint8Array.fromBase64(url.slice(url.indexOf(",") + 1));
  return Deno.readFileSync(new URL(url));
}
