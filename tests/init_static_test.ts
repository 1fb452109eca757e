/**
 * The cage's init is a static program: its ELF program headers hold no
 * PT_INTERP, so exec'ing it (also into a live cage whose /lib and
 * /etc/ld.so.preload the command may have changed) runs no dynamic loader and
 * loads no library. Checked for the init the host's launcher asset embeds and
 * for the aarch64 release build.
 *
 * Needs gcc-aarch64-linux-gnu and libc6-dev-arm64-cross for the second.
 *
 * @module
 */

import { run } from "./harness/process.ts";
import { initProgramFd, prepareLauncher } from "../src/launcher/library.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const PT_INTERP = 3;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** The p_type of each program header of a 64-bit little-endian ELF file. */
export function programHeaderTypes(bytes: Uint8Array): number[] {
  assert(bytes.length >= 64, "shorter than an ELF header");
  assert(
    bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46,
    "no ELF magic",
  );
  assert(bytes[4] === 2 && bytes[5] === 1, "not a 64-bit little-endian ELF file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const phoff = Number(view.getBigUint64(0x20, true));
  const phentsize = view.getUint16(0x36, true);
  const phnum = view.getUint16(0x38, true);
  assert(phentsize >= 4 && phoff + phentsize * phnum <= bytes.length, "program headers cut off");
  const types = [];
  for (let i = 0; i < phnum; i++) types.push(view.getUint32(phoff + i * phentsize, true));
  return types;
}

Deno.test("programHeaderTypes reads a dynamic program's PT_INTERP (the check can fail)", async () => {
  // /bin/sh is dynamically linked on every distribution the tests run on.
  const types = programHeaderTypes(await Deno.readFile(await Deno.realPath("/bin/sh")));
  assert(types.includes(PT_INTERP), `/bin/sh: ${types}`);
});

Deno.test("the init the launcher asset embeds has no program interpreter", async () => {
  const built = await run([Deno.execPath(), "run", "-A", `${ROOT}build.ts`, "--launcher"], {
    allowFailure: true,
    timeoutMs: 120_000,
  });
  assert(built.code === 0, `build.ts --launcher failed: ${built.stderr}`);
  // The bytes a cage execs: the init's memfd, read through /proc.
  await prepareLauncher();
  const initBytes = await Deno.readFile(`/proc/self/fd/${initProgramFd()}`);
  const types = programHeaderTypes(initBytes);
  assert(!types.includes(PT_INTERP), `the init has PT_INTERP: ${types}`);
});

Deno.test("the aarch64 release build's init has no program interpreter", async () => {
  const built = await run(
    [Deno.execPath(), "run", "-A", `${ROOT}build.ts`, "--target", "aarch64"],
    { allowFailure: true, timeoutMs: 120_000 },
  );
  assert(built.code === 0, `build.ts --target aarch64 failed: ${built.stderr}`);
  const bytes = await Deno.readFile(`${ROOT}target/aarch64/wgcage-init`);
  assert((bytes[18] | (bytes[19] << 8)) === 183, "not an AArch64 program");
  const types = programHeaderTypes(bytes);
  assert(!types.includes(PT_INTERP), `the aarch64 init has PT_INTERP: ${types}`);
});
