import nodeAssert from "node:assert/strict";
import { CageError } from "./error.ts";
import { cageFailure, type FailureContext, type HostFacts } from "./failure.ts";
import { Stage } from "./stage.ts";

const CTX: FailureContext = { command: "foo", tunName: "wg0", mode: "userns" };
const OPEN: HostFacts = { maxUserNamespaces: 15000 };
const EPERM = 1, ENOENT = 2, EACCES = 13, ENOSPC = 28, ENOEXEC = 8;

function check(err: CageError, exitCode: number, message: string | RegExp): void {
  nodeAssert.ok(err instanceof CageError);
  nodeAssert.equal(err.exitCode, exitCode);
  nodeAssert.ok(!err.message.includes("\n"), "one line");
  nodeAssert.ok(err.message.startsWith("wgcage: "), err.message);
  if (typeof message === "string") nodeAssert.equal(err.message, message);
  else nodeAssert.match(err.message, message);
}

Deno.test("cageFailure: ENOENT from exec of a script that is there names its missing #! interpreter", () => {
  const dir = Deno.makeTempDirSync({ prefix: "wgc-failure-" });
  try {
    const script = `${dir}/run.sh`;
    Deno.writeTextFileSync(script, "#!/nonexistent/bash -e\ntrue\n", { mode: 0o755 });
    const err = cageFailure(Stage.Exec, ENOENT, { ...CTX, command: script }, OPEN);
    check(
      err,
      127,
      `wgcage: Cannot run '${script}': its interpreter '/nonexistent/bash' (from its #! line) is not found; install it or fix the #! line`,
    );
    nodeAssert.equal(err.stage, Stage.Exec);
    nodeAssert.equal(err.errno, ENOENT);
    Deno.writeTextFileSync(script, "#!/bin/sh\r\ntrue\r\n");
    check(
      cageFailure(Stage.Exec, ENOENT, { ...CTX, command: script }, OPEN),
      127,
      `wgcage: Cannot run '${script}': its #! line ends in a carriage return (DOS line endings), so its interpreter is not found; convert the file, e.g. with dos2unix`,
    );
    // A script whose interpreter is there: not found for another reason.
    Deno.writeTextFileSync(script, "#!/bin/sh\ntrue\n");
    check(
      cageFailure(Stage.Exec, ENOENT, { ...CTX, command: script }, OPEN),
      127,
      `wgcage: Cannot run '${script}': command not found`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("cageFailure: an init that cannot be exec'd names both places it runs from", () => {
  // From a memfd (copied bytes) or from its own file (src/launcher/binary_file.ts).
  check(
    cageFailure(Stage.InitExec, EACCES, CTX, OPEN),
    125,
    "wgcage: Cannot start the cage's init program: permission denied; the host must allow " +
      "executing a memfd (sysctl vm.memfd_noexec at 0 or 1; wgcage asks for MFD_EXEC) and " +
      "wgcage's files where they lie " +
      "(a mount without noexec)",
  );
});

Deno.test("cageFailure: a command not found is 127, not executable 126", () => {
  check(
    cageFailure(Stage.Exec, ENOENT, CTX, OPEN),
    127,
    "wgcage: Cannot run 'foo': command not found",
  );
  check(
    cageFailure(Stage.Exec, EACCES, CTX, OPEN),
    126,
    "wgcage: Cannot run 'foo': permission denied; check that it is an executable file (chmod +x) " +
      "on a file system not mounted noexec",
  );
  check(
    cageFailure(Stage.Exec, ENOEXEC, CTX, OPEN),
    126,
    "wgcage: Cannot run 'foo': exec format error",
  );
  check(
    cageFailure(Stage.Exec, ENOENT, { ...CTX, command: "it's" }, OPEN),
    127,
    "wgcage: Cannot run 'it'\\''s': command not found",
  );
});

Deno.test("cageFailure: AppArmor's restriction is named with both fixes, at any denied stage", () => {
  const apparmor = { apparmorRestrictsUserns: 1, maxUserNamespaces: 15000 };
  const expected = "wgcage: Cannot create a user namespace: AppArmor restricts unprivileged user " +
    "namespaces (kernel.apparmor_restrict_unprivileged_userns=1); run with sudo -E wgcage … or " +
    "allow them with sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0";
  for (const stage of [Stage.Clone, Stage.Maps, Stage.MountPrivate, Stage.TunSetIff, Stage.Proc]) {
    check(cageFailure(stage, EPERM, CTX, apparmor), 125, expected);
  }
  // A TUN node the user may not open is its own refusal, even then.
  check(
    cageFailure(Stage.TunOpen, EACCES, CTX, apparmor),
    125,
    /^wgcage: Cannot open \/dev\/net\/tun/,
  );
  // As root there is no user namespace to blame.
  check(
    cageFailure(Stage.MountPrivate, EPERM, { ...CTX, mode: "root" }, apparmor),
    125,
    /^wgcage: Cannot make the cage's mounts private/,
  );
});

Deno.test("cageFailure: disabled user namespaces are named with the sysctl", () => {
  check(
    cageFailure(Stage.Clone, ENOSPC, CTX, { maxUserNamespaces: 0 }),
    125,
    /user\.max_user_namespaces=0\); run with sudo -E wgcage … or enable them with sudo sysctl -w user\.max_user_namespaces=15000$/,
  );
  check(
    cageFailure(Stage.Clone, EPERM, CTX, { maxUserNamespaces: 15000, unprivilegedUsernsClone: 0 }),
    125,
    /kernel\.unprivileged_userns_clone=0/,
  );
  check(cageFailure(Stage.Clone, ENOSPC, CTX, OPEN), 125, /namespace limit was reached/);
});

Deno.test("cageFailure: /dev/net/tun missing or not accessible says what to do", () => {
  check(
    cageFailure(Stage.TunOpen, ENOENT, CTX, OPEN),
    125,
    /--device \/dev\/net\/tun; on a host, load the module \(sudo modprobe tun\)$/,
  );
  check(
    cageFailure(Stage.TunOpen, EACCES, CTX, OPEN),
    125,
    /permission denied; run with sudo or make it accessible \(sudo chmod 0666 \/dev\/net\/tun\)/,
  );
});

Deno.test("cageFailure: every stage gives one line and status 125", () => {
  for (const stage of Object.values(Stage)) {
    if (stage === Stage.Exec) continue;
    const e = cageFailure(stage, EPERM, { ...CTX, mode: "root" }, OPEN);
    check(e, 125, /^wgcage: /);
    nodeAssert.equal(e.stage, stage);
    nodeAssert.equal(e.errno, EPERM);
  }
});
