/**
 * The release build's pieces that need no download: the launcher and the
 * cage's init cross-compile for aarch64 with Debian's gcc-aarch64-linux-gnu
 * (with -Werror, so without a warning), and SHA256SUMS is in the form
 * `sha256sum -c` checks; a compiled binary of the wrong architecture, or one
 * that does not print its version, is refused in one line and never summed
 * (the release run with a denort that is /bin/true: `deno compile` appends
 * its payload to whatever binary DENORT_BIN names, and cannot download the
 * real one without the network).
 *
 * Needs gcc, gcc-aarch64-linux-gnu and libc6-dev-arm64-cross.
 *
 * @module
 */

import { run } from "./harness/process.ts";
import { type Arch, checkBinary, compileEnv, ReleaseError, writeSums } from "../tools/release.ts";
import { VERSION } from "../src/version.ts";

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
  assert(/^export const launcherUrl: string =\n {2}"data:/m.test(asset), "no launcherUrl export");
  assert(/^export const initUrl: string =\n {2}"data:/m.test(asset), "no initUrl export");
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

const HOST = Deno.build.arch as Arch;
const OTHER: Arch = HOST === "x86_64" ? "aarch64" : "x86_64";

Deno.test("deno compile gets DENORT_BIN for the host's own binary only, or each target's own", () => {
  const parent = { PATH: "/usr/bin", DENORT_BIN: "/host/denort" };
  assert(compileEnv(HOST, parent).DENORT_BIN === "/host/denort", "the host lost its denort");
  assert(!("DENORT_BIN" in compileEnv(OTHER, parent)), "the host's denort went to the other");
  assert(compileEnv(OTHER, parent).PATH === "/usr/bin", "the rest of the environment is lost");
  const own = { ...parent, [`DENORT_BIN_${OTHER.toUpperCase()}`]: "/other/denort" };
  assert(compileEnv(OTHER, own).DENORT_BIN === "/other/denort", "DENORT_BIN_<ARCH> is not taken");
});

/** Message of the ReleaseError that `f` throws; fails the test if it throws none. */
async function refusal(f: () => Promise<void>): Promise<string> {
  try {
    await f();
  } catch (e) {
    assert(e instanceof ReleaseError, `threw ${e}`);
    assert(!e.message.includes("\n"), `not one line: ${e.message}`);
    return e.message;
  }
  throw new Error("was not refused");
}

Deno.test("a compiled binary is checked for its architecture and, on the host's, its version", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgc-archcheck-" });
  try {
    // Stand-ins for wgcage: C programs that print its version line, for each architecture.
    await Deno.writeTextFile(
      `${dir}/v.c`,
      `#include <stdio.h>\nint main(void) { puts("wgcage ${VERSION} (deno 2.9.6)"); return 0; }\n`,
    );
    const cc = { x86_64: "x86_64-linux-gnu-gcc", aarch64: "aarch64-linux-gnu-gcc" };
    for (const arch of ["x86_64", "aarch64"] as const) {
      const gcc = arch === HOST ? "gcc" : cc[arch];
      const built = await run([gcc, "-o", `${dir}/wgcage-${arch}-linux`, `${dir}/v.c`], {
        allowFailure: true,
      });
      assert(
        built.code === 0,
        `${gcc} failed (apt-get install gcc-${cc[arch].slice(0, -4)}): ${built.stderr}`,
      );
    }
    await checkBinary(`${dir}/wgcage-${HOST}-linux`, HOST);
    await checkBinary(`${dir}/wgcage-${OTHER}-linux`, OTHER);

    const wrong = await refusal(() => checkBinary(`${dir}/wgcage-${HOST}-linux`, OTHER));
    assert(
      wrong === `Refusing wgcage-${HOST}-linux: it is a binary for ${HOST}, not ${OTHER}; ` +
          `set DENORT_BIN_${OTHER.toUpperCase()} to a denort for ${OTHER}-unknown-linux-gnu`,
      wrong,
    );
    await Deno.copyFile("/bin/true", `${dir}/true`);
    const silent = await refusal(() => checkBinary(`${dir}/true`, HOST));
    assert(
      silent.startsWith(
        `Refusing true: 'true version' should print 'wgcage ${VERSION} (deno …' (exit 0, '')`,
      ),
      silent,
    );
    await Deno.writeTextFile(`${dir}/script`, "#!/bin/sh\necho wgcage\n");
    const notElf = await refusal(() => checkBinary(`${dir}/script`, HOST));
    assert(notElf.startsWith("Refusing script: it is not a 64-bit little-endian ELF"), notElf);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** `tools/release.ts release --out DIR` with only `env`'s DENORT_BIN* (the rest inherited). */
async function releaseWith(env: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "wgc-release-" });
  const clean = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("DENORT_BIN")),
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}tools/release.ts`, "release", "--out", dir],
    env: { ...clean, ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000),
  }).output();
  const listed = await Array.fromAsync(Deno.readDir(dir), (e) => e.name);
  await Deno.remove(dir, { recursive: true });
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr), listed };
}

Deno.test("the release refuses an other-architecture binary made from the host's denort, in one line", async () => {
  // /bin/true as the other architecture's denort: the binary under its name is the host's.
  const r = await releaseWith({ [`DENORT_BIN_${OTHER.toUpperCase()}`]: "/bin/true" });
  assert(r.code === 1, `exit ${r.code}: ${r.stderr}`);
  const refused = r.stderr.trim().split("\n").filter((l) => l.includes("Refusing"));
  assert(
    refused.length === 1 &&
      refused[0] === `release: Refusing wgcage-${OTHER}-linux: it is a binary for ${HOST}, not ` +
          `${OTHER}; set DENORT_BIN_${OTHER.toUpperCase()} to a denort for ${OTHER}-unknown-linux-gnu`,
    r.stderr,
  );
  assert(!r.listed.includes(`wgcage-${OTHER}-linux`), `left ${r.listed.join(" ")}`);
  assert(!r.listed.includes("SHA256SUMS"), "SHA256SUMS was written");
});

Deno.test("the release refuses the host's binary when it does not print its version", async () => {
  // DENORT_BIN, the host's: a binary that runs but is not wgcage.
  const r = await releaseWith({ DENORT_BIN: "/bin/true" });
  assert(r.code === 1, `exit ${r.code}: ${r.stderr}`);
  const last = r.stderr.trim().split("\n").at(-1) ?? "";
  assert(
    last.startsWith(
      `release: Refusing wgcage-${HOST}-linux: 'wgcage-${HOST}-linux version' should print`,
    ),
    r.stderr,
  );
  assert(!r.listed.includes(`wgcage-${HOST}-linux`), `left ${r.listed.join(" ")}`);
  assert(!r.listed.includes("SHA256SUMS"), "SHA256SUMS was written");
});
