/**
 * NODE_OPTIONS=--inspect makes `deno run` open a debugger on 127.0.0.1:9229
 * before any of wgcage's code runs, which any local user could connect to.
 * wgcage closes it and refuses, in one line, with status 125.
 */

import { MAIN } from "./e2e/wgcage.ts";

Deno.test("wgcage refuses to run, and closes the debugger, when NODE_OPTIONS asks for --inspect", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, "version"],
    env: { NODE_OPTIONS: "--inspect=127.0.0.1:0", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const ours = stderr.split("\n").filter((l) => l.startsWith("wgcage:"));
  if (out.code !== 125) throw new Error(`exit ${out.code}: ${stderr}`);
  if (ours.length !== 1 || !/unset NODE_OPTIONS/.test(ours[0])) throw new Error(stderr);
  if (new TextDecoder().decode(out.stdout).includes("wgcage ")) {
    throw new Error("wgcage ran its command with a debugger open");
  }
});
