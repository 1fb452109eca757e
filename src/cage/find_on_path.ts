/**
 * Where a program the host runs for wgcage is: the first executable file of
 * that name in PATH's absolute directories (a relative one would depend on
 * the directory wgcage was started in), then in the directories a caller
 * adds.
 *
 * @module
 */

/** The sbin directories an ordinary user's PATH often lacks (nft lives there). */
export const SBIN_DIRS: readonly string[] = ["/usr/sbin", "/sbin"];

/** The path of the first executable `name` in $PATH, then in `more`; undefined when none is. */
export function findOnPath(
  name: string,
  more: readonly string[] = [],
  path: string = Deno.env.get("PATH") ?? "",
): string | undefined {
  const dirs = path.split(":").filter((d) => d.startsWith("/"));
  for (const dir of [...dirs, ...more]) {
    try {
      const st = Deno.statSync(`${dir}/${name}`);
      if (st.isFile && ((st.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}
