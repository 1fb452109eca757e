/**
 * Runs the native tests of the control socket's checks (launcher/control.c,
 * tested by launcher/test/control_test.c): the fds `wgcage exec` takes from
 * a keeper, the peer check by network and user namespace, and the keeper's
 * namespace fds of its cage. Builds them with the system `cc`, as build.ts
 * builds the launcher. The test's children make user namespaces, which an
 * unprivileged user may do where the kernel allows it (root always may).
 *
 * @module
 */

const root = new URL("../../", import.meta.url);
const path = (rel: string) => new URL(rel, root).pathname;

Deno.test("control.c: fds received as runc checks them, peers of another network namespace refused, the cage's namespace fds", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgcage-control-test-" });
  try {
    const exe = `${dir}/control_test`;
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
        path("launcher/control.c"),
        path("launcher/test/control_test.c"),
        "-o",
        exe,
      ],
    }).output();
    if (!built.success) {
      throw new Error(`Cannot build control_test: ${new TextDecoder().decode(built.stderr)}`);
    }
    const run = await new Deno.Command(exe).output();
    const out = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    if (!run.success) throw new Error(`control_test failed:\n${out}`);
    if (!/ 0 failed/.test(out)) throw new Error(`control_test said: ${out}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
