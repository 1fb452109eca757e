/**
 * The release build's pieces that need no download: the launcher and the
 * cage's init cross-compile for aarch64 with Debian's gcc-aarch64-linux-gnu
 * (with -Werror, so without a warning), and SHA256SUMS is in the form
 * `sha256sum -c` checks.
 *
 * Needs gcc-aarch64-linux-gnu and libc6-dev-arm64-cross.
 *
 * @module
 */

import { run } from "./harness/process.ts";
import { writeSums } from "../tools/release.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** The ELF machine field: 62 for x86-64, 183 for AArch64. */
async function elfMachine(file: string): Promise<number> {
  const bytes = await Deno.readFile(file);
  assert(bytes[0] === 0x7f && bytes[1] === 0x45, `${file} is not an ELF file`);
  return bytes[18] | (bytes[19] << 8);
}

Deno.test("the launcher and the cage's init cross-compile for aarch64 without a warning", async () => {
  const built = await run(
    [Deno.execPath(), "run", "-A", `${ROOT}build.ts`, "--target", "aarch64"],
    { allowFailure: true, timeoutMs: 120_000 },
  );
  assert(built.code === 0, `build.ts --target aarch64 failed: ${built.stderr}`);
  assert(await elfMachine(`${ROOT}target/aarch64/libwgcage_launcher.so`) === 183, "launcher");
  assert(await elfMachine(`${ROOT}target/aarch64/wgcage-init`) === 183, "init");
  const asset = await Deno.readTextFile(`${ROOT}target/aarch64/_launcher_asset.ts`);
  assert(/^export const launcherBytes: Uint8Array/m.test(asset), "no launcherBytes export");
  assert(/^export const initBytes: Uint8Array/m.test(asset), "no initBytes export");
});

Deno.test("an unknown build target is refused in one line", async () => {
  const r = await run([Deno.execPath(), "run", "-A", `${ROOT}build.ts`, "--target", "mips"], {
    allowFailure: true,
  });
  assert(r.code === 2, `exit ${r.code}`);
  assert(
    r.stderr.trim() === "build: Unknown target 'mips'; use --target x86_64 or aarch64",
    r.stderr,
  );
});

Deno.test("SHA256SUMS lists every artifact in the form sha256sum -c checks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgc-sums-" });
  try {
    await Deno.writeTextFile(`${dir}/wgcage-x86_64-linux`, "one");
    await Deno.writeTextFile(`${dir}/wgcage-0.0.0.tgz`, "two");
    await writeSums(dir, ["wgcage-x86_64-linux", "wgcage-0.0.0.tgz"]);
    const sums = await Deno.readTextFile(`${dir}/SHA256SUMS`);
    assert(sums.split("\n").filter(Boolean).length === 2, sums);
    const checked = await run(["sh", "-c", `cd "${dir}" && sha256sum -c SHA256SUMS`]);
    assert(/wgcage-x86_64-linux: OK/.test(checked.stdout), checked.stdout);
    await Deno.writeTextFile(`${dir}/wgcage-0.0.0.tgz`, "tampered");
    const tampered = await run(["sh", "-c", `cd "${dir}" && sha256sum -c SHA256SUMS`], {
      allowFailure: true,
    });
    assert(tampered.code !== 0, "a changed file passed the check");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
