import { strictEqual } from "node:assert/strict";
import { findOnPath } from "./find_on_path.ts";

Deno.test("findOnPath: the first executable of the name in PATH's absolute directories, then in the added ones", () => {
  const dir = Deno.makeTempDirSync({ prefix: "wgc-path-" });
  try {
    for (const d of ["a", "b", "c", "rel"]) Deno.mkdirSync(`${dir}/${d}`);
    Deno.writeTextFileSync(`${dir}/a/tool`, "", { mode: 0o644 }); // not executable
    Deno.writeTextFileSync(`${dir}/b/tool`, "#!/bin/sh\n", { mode: 0o755 });
    Deno.writeTextFileSync(`${dir}/c/tool`, "#!/bin/sh\n", { mode: 0o755 });
    Deno.mkdirSync(`${dir}/a/dir`, { mode: 0o755 }); // a directory is no program
    strictEqual(findOnPath("tool", [], `${dir}/a:${dir}/b:${dir}/c`), `${dir}/b/tool`);
    strictEqual(findOnPath("dir", [], `${dir}/a`), undefined);
    // A relative directory is not looked in, whatever the working directory.
    strictEqual(findOnPath("tool", [], `rel:${dir}/c`), `${dir}/c/tool`);
    strictEqual(findOnPath("tool", [`${dir}/c`], `${dir}/a`), `${dir}/c/tool`);
    strictEqual(findOnPath("tool", [], ""), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
