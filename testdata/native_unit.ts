/**
 * The native unit tests of launcher C files: `launcher/NAME.c` with its test
 * `launcher/test/NAME_test.c`, built with the system `cc` as build.ts builds
 * the launcher (C11, -Wall -Wextra -Werror) plus AddressSanitizer and
 * UBSan, which stop the run at the first finding, then run.
 *
 * @module
 */

const root = new URL("../", import.meta.url);
const path = (rel: string) => new URL(rel, root).pathname;

/** Builds and runs NAME_test; throws unless it exits 0 and reports `0 failed`. */
export async function runNativeTest(name: string): Promise<void> {
  const test = `${name}_test`;
  const dir = await Deno.makeTempDir({ prefix: `wgcage-${name}-test-` });
  try {
    const exe = `${dir}/${test}`;
    const built = await new Deno.Command(Deno.env.get("CC") ?? "cc", {
      args: [
        "-std=c11",
        "-O2",
        "-D_GNU_SOURCE",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        `-I${path("launcher")}`,
        path(`launcher/${name}.c`),
        path(`launcher/test/${test}.c`),
        "-o",
        exe,
      ],
    }).output();
    if (!built.success) {
      throw new Error(`Cannot build ${test}: ${new TextDecoder().decode(built.stderr)}`);
    }
    const run = await new Deno.Command(exe).output();
    const out = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    if (!run.success) throw new Error(`${test} failed:\n${out}`);
    if (!/ 0 failed/.test(out)) throw new Error(`${test} said: ${out}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
