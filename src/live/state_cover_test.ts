import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { stateDirsToCover } from "./state_cover.ts";

function envOf(vars: Record<string, string>): Deno.Env {
  return {
    get: (k: string) => vars[k],
    set: () => {},
    delete: () => {},
    has: (k: string) => k in vars,
    toObject: () => ({ ...vars }),
  };
}

Deno.test("stateDirsToCover: under sudo, both places the invoking user's cages may be kept", () => {
  if (Deno.uid() !== 0) throw new Error("this test needs root (it checks the sudo case)");
  const dirs = stateDirsToCover(envOf({ SUDO_UID: "4321" }));
  assertEquals(dirs.includes("/run/wgcage"), true, dirs.join(" "));
  assertEquals(dirs.includes("/run/user/4321/wgcage"), true, dirs.join(" "));
  assertEquals(dirs.includes("/tmp/wgcage-4321"), true, dirs.join(" "));
  assertEquals(new Set(dirs).size, dirs.length, "each once");
});

Deno.test("stateDirsToCover: a malformed SUDO_UID adds nothing", () => {
  if (Deno.uid() !== 0) throw new Error("this test needs root (it checks the sudo case)");
  const dirs = stateDirsToCover(envOf({ SUDO_UID: "../../etc" }));
  assertEquals(dirs, ["/run/wgcage"]);
});
