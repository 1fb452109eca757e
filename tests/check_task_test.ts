/**
 * `deno task check` and `deno task fmt` name the launcher's C sources by
 * directory globs: a directory of C added under launcher/ and left out of
 * them is never checked for formatting. Pure logic, no root.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Every directory under launcher/ (itself included) holding a .c or .h file, as `launcher/x/`. */
async function cDirectories(dir = "launcher/"): Promise<string[]> {
  const found: string[] = [];
  let hasC = false;
  for await (const e of Deno.readDir(new URL(dir, ROOT))) {
    if (e.isDirectory) found.push(...await cDirectories(`${dir}${e.name}/`));
    else if (e.isFile && /\.[ch]$/.test(e.name)) hasC = true;
  }
  return hasC ? [dir, ...found] : found;
}

Deno.test("deno task check:clang-format and fmt cover every directory of C under launcher/", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks;
  const check: string = tasks["check:clang-format"];
  const fmt: string = tasks.fmt.command;
  const dirs = await cDirectories();
  assert(dirs.includes("launcher/") && dirs.length > 1, `found ${dirs.join(", ")}`);
  for (const dir of dirs) {
    for (const [name, command] of [["check:clang-format", check], ["fmt", fmt]]) {
      for (const ext of ["c", "h"]) {
        const glob = `${dir}*.${ext}`;
        const hasExt = [...Deno.readDirSync(new URL(dir, ROOT))].some((e) =>
          e.name.endsWith(`.${ext}`)
        );
        if (!hasExt) continue;
        assert(command.split(" ").includes(glob), `deno task ${name} does not format ${glob}`);
      }
    }
  }
});
