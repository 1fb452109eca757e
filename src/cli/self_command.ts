/**
 * How to start wgcage itself again (the demo runs its own programs inside its
 * cages): the binary alone when compiled, else `deno run -A` of the main
 * module this process was started with: `src/main.ts` from source, the one
 * bundled file in the npm package.
 *
 * @module
 */

export function isCompiled(): boolean {
  const exe = Deno.execPath().split("/").pop() ?? "";
  return !/^deno(\.exe)?$/.test(exe);
}

export function selfCommand(): string[] {
  if (isCompiled()) return [Deno.execPath()];
  const main = new URL(Deno.mainModule).pathname;
  // No deno.json or lock file of the working directory applies to wgcage.
  return [Deno.execPath(), "run", "-A", "--quiet", "--no-config", "--no-lock", main];
}
