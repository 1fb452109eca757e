/**
 * Builds the Rust core's unit tests for the host with Debian's rustc and runs
 * them: the primitives' RFC vectors and the protocol state machine with an
 * injected clock. Part of `deno task test`.
 *
 * @module
 */

const root = new URL("../", import.meta.url).pathname;
const rustc = Deno.env.get("WGCAGE_RUSTC") ?? "/usr/bin/rustc";
const out = `${root}target/wgcore-unit`;

await Deno.mkdir(`${root}target`, { recursive: true });
let build: Deno.CommandOutput;
try {
  build = await new Deno.Command(rustc, {
    args: [
      "--edition",
      "2021",
      "--test",
      "-C",
      "opt-level=2",
      "-D",
      "warnings",
      `${root}wasm/src/lib.rs`,
      "-o",
      out,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
  console.error(
    `rust unit tests: '${rustc}' not found; install it with: apt-get install rustc libstd-rust-dev-wasm32`,
  );
  Deno.exit(1);
}
if (!build.success) {
  console.error("rust unit tests: the build failed (see above)");
  Deno.exit(1);
}
const result = await new Deno.Command(out, {
  args: ["--test-threads=2"],
  stdout: "inherit",
  stderr: "inherit",
})
  .output();
Deno.exit(result.code);
