/**
 * How to start wgcage itself again (the demo runs its own programs inside its
 * cages): the binary alone when compiled, `deno run -A main.ts` from source.
 *
 * @module
 */

export function isCompiled(): boolean {
  const exe = Deno.execPath().split("/").pop() ?? "";
  return !/^deno(\.exe)?$/.test(exe);
}

export function selfCommand(): string[] {
  if (isCompiled()) return [Deno.execPath()];
  const main = new URL("../main.ts", import.meta.url).pathname;
  return [Deno.execPath(), "run", "-A", "--quiet", main];
}
