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

Deno.test("stateDirsToCover: under sudo, the invoking user's servers (tokens, keys) under their home", () => {
  if (Deno.uid() !== 0) throw new Error("this test needs root (it checks the sudo case)");
  const passwd = () =>
    "root:x:0:0:root:/root:/bin/bash\nother:x:43210:1:o:/home/other:/bin/sh\n" +
    "ann:x:4321:4321:Ann:/home/ann/:/bin/sh\n";
  const dirs = stateDirsToCover(envOf({ SUDO_UID: "4321", HOME: "/root" }), passwd);
  assertEquals(dirs.includes("/home/ann/.config/wgcage/servers"), true, dirs.join(" "));
  assertEquals(dirs.includes("/root/.config/wgcage/servers"), true, dirs.join(" "));
  assertEquals(dirs.some((d) => d.startsWith("/home/other")), false, dirs.join(" "));
  // A user with no home (or /) in passwd: nothing under it.
  const homeless = stateDirsToCover(
    envOf({ SUDO_UID: "4321" }),
    () => "ann:x:4321:4321::/:/bin/sh",
  );
  assertEquals(homeless.some((d) => d.includes(".config")), false, homeless.join(" "));
});

Deno.test("stateDirsToCover: a malformed SUDO_UID adds nothing", () => {
  if (Deno.uid() !== 0) throw new Error("this test needs root (it checks the sudo case)");
  const dirs = stateDirsToCover(envOf({ SUDO_UID: "../../etc" }));
  assertEquals(dirs, ["/run/wgcage"]);
});
