/**
 * Each refusal provoked for real, with its one-line message and status 125:
 * user namespaces disabled (user.max_user_namespaces=0 inside the test's own
 * user namespace), /dev/net/tun inaccessible or missing, the launcher not
 * loadable; and the command's own refusals, 127 and 126.
 */

import { assert, assertEquals } from "./cage/assert.ts";
import { DriverEnv, REPO } from "./cage/harness.ts";

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assertEquals(lines.length, 1, `expected one line, got: ${stderr}`);
  return lines[0];
}

async function userNamespaceOf(pid: number): Promise<string> {
  return await Deno.readLink(`/proc/${pid}/ns/user`);
}

Deno.test("cage refuses with the sysctl to change when user namespaces are disabled", async () => {
  const env = await DriverEnv.create("nobody");
  // The child unshares a user namespace of its own, waits for us to write
  // its maps (all of uids/gids 0..65535, so that 65534 exists in it), sets
  // its user.max_user_namespaces to 0, and runs the driver as 65534 there.
  // (The re-exec after the maps gives the shell its capabilities in the
  // namespace: the first exec happened while its uid was still unmapped.)
  const script =
    'read go && exec sh -c \'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"\' sh "$@"';
  const child = new Deno.Command("unshare", {
    args: [
      "--user",
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      script,
      "sh",
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      ...env.driverArgs({}, ["true"]),
    ],
    env: env.env(),
    clearEnv: true,
    cwd: env.dir,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const ours = await userNamespaceOf(Deno.pid);
    const end = Date.now() + 5000;
    while (await userNamespaceOf(child.pid) === ours) {
      if (Date.now() > end) throw new Error("unshare did not make a user namespace");
      await new Promise((r) => setTimeout(r, 10));
    }
    await Deno.writeTextFile(`/proc/${child.pid}/uid_map`, "0 0 65536\n");
    await Deno.writeTextFile(`/proc/${child.pid}/gid_map`, "0 0 65536\n");
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode("go\n"));
    await w.close();
    const out = await child.output();
    const line = oneLine(new TextDecoder().decode(out.stderr));
    assertEquals(
      line,
      "wgcage: Cannot create a user namespace: user namespaces are disabled " +
        "(user.max_user_namespaces=0); run with sudo -E wgcage … or enable them with " +
        "sudo sysctl -w user.max_user_namespaces=15000",
    );
    assertEquals(out.code, 125);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // ended
    }
    await env.close();
  }
});

Deno.test("cage refuses with the fix when /dev/net/tun is not accessible", async () => {
  const env = await DriverEnv.create("nobody", { mode: 0o600 });
  try {
    const r = await env.run({}, ["true"]);
    assertEquals(
      oneLine(r.stderr),
      "wgcage: Cannot open /dev/net/tun: permission denied; run with sudo or make it accessible " +
        "(sudo chmod 0666 /dev/net/tun); in a container, add --device /dev/net/tun",
    );
    assertEquals(r.code, 125);
    assertEquals(await env.leftovers(), [], "a refused cage leaves no temp files");
  } finally {
    await env.close();
  }
});

Deno.test("cage refuses with the fix when /dev/net/tun is missing", async () => {
  const env = await DriverEnv.create("nobody");
  try {
    const r = await env.run({}, ["true"], { hideTun: true });
    assertEquals(
      oneLine(r.stderr),
      "wgcage: Cannot open /dev/net/tun: no such file or directory; in a container, run it with " +
        "--device /dev/net/tun; on a host, load the module (sudo modprobe tun)",
    );
    assertEquals(r.code, 125);
    assertEquals(await env.leftovers(), [], "a refused cage leaves no temp files");
  } finally {
    await env.close();
  }
});

Deno.test("cage refuses with the fix when the launcher cannot be loaded", async () => {
  // Without FFI permission Deno.dlopen is refused: the launcher cannot load.
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      `${REPO}tests/cage/driver.ts`,
      "{}",
      "true",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const line = oneLine(new TextDecoder().decode(out.stderr));
  assert(line.startsWith("wgcage: Cannot load the launcher library: "), line);
  assert(line.includes("allow FFI and file access (deno run -A)"), line);
  assertEquals(out.code, 125);
});

Deno.test("cage: a command that is not found is 127, one that is not executable 126", async () => {
  const env = await DriverEnv.create("nobody");
  try {
    const missing = await env.run({}, ["wgcage-no-such-command"]);
    assertEquals(
      oneLine(missing.stderr),
      "wgcage: Cannot run 'wgcage-no-such-command': command not found",
    );
    assertEquals(missing.code, 127);
    const file = `${env.dir}/not-executable`;
    await Deno.writeTextFile(file, "echo hi\n", { mode: 0o644 });
    const r = await env.run({}, [file]);
    assertEquals(
      oneLine(r.stderr),
      `wgcage: Cannot run '${file}': permission denied; check that it is an executable ` +
        "file (chmod +x) on a file system not mounted noexec",
    );
    assertEquals(r.code, 126);
  } finally {
    await env.close();
  }
});

Deno.test("cage refuses with the fix when the host has no /etc/hosts to lay the cage's over", async () => {
  const env = await DriverEnv.create("nobody");
  try {
    // In the driver's private mount namespace /etc is an overlay without hosts.
    const prelude = 'mkdir "$0/up" "$0/work" && ' +
      'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$0/up,workdir=$0/work" /etc && ' +
      "rm /etc/hosts";
    const r = await env.run({}, ["true"], { prelude });
    assertEquals(
      oneLine(r.stderr),
      "wgcage: Cannot lay the cage's /etc/hosts over the host's: no such file or directory; " +
        "make sure /etc/hosts exists on the host (a file or a symlink)",
    );
    assertEquals(r.code, 125);
    assertEquals(await env.leftovers(), [], "a refused cage leaves no temp files");
  } finally {
    await env.close();
  }
});
