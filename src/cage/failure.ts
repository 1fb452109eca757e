/**
 * Turns a launcher failure — a stage and an errno — into a {@linkcode CageError}
 * whose one line says what went wrong and what to do about it.
 *
 * @module
 */

import {
  describeErrno,
  EACCES,
  EADDRINUSE,
  EINVAL,
  ELOOP,
  ENODEV,
  ENOENT,
  ENOSPC,
  ENOTDIR,
  ENXIO,
  EPERM,
  EUSERS,
} from "../launcher/errno.ts";
import { CageError, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_REFUSED } from "./error.ts";
import { type CageMode, Stage } from "./stage.ts";
import { missingInterpreter } from "./interpreter.ts";

/**
 * The errno text for a message; ENOSPC at the namespace stages means a
 * per-user namespace limit, which its glibc text does not say.
 */
function describe(errno: number): string {
  return errno === ENOSPC
    ? "no space left on device (a namespace limit was reached)"
    : describeErrno(errno);
}

/** What the host says about unprivileged user namespaces (/proc/sys). */
export interface HostFacts {
  /** kernel.apparmor_restrict_unprivileged_userns, if the file exists. */
  readonly apparmorRestrictsUserns?: number;
  /** user.max_user_namespaces. */
  readonly maxUserNamespaces?: number;
  /** kernel.unprivileged_userns_clone (Debian's older kernels), if it exists. */
  readonly unprivilegedUsernsClone?: number;
}

function readNumber(path: string): number | undefined {
  try {
    const n = Number.parseInt(Deno.readTextFileSync(path).trim(), 10);
    return Number.isNaN(n) ? undefined : n;
  } catch {
    return undefined;
  }
}

/** Reads {@linkcode HostFacts} from /proc/sys. */
export function readHostFacts(): HostFacts {
  return {
    apparmorRestrictsUserns: readNumber("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
    maxUserNamespaces: readNumber("/proc/sys/user/max_user_namespaces"),
    unprivilegedUsernsClone: readNumber("/proc/sys/kernel/unprivileged_userns_clone"),
  };
}

/** What the failure is about, for the message. */
export interface FailureContext {
  /** argv[0] of the command. */
  readonly command: string;
  readonly tunName: string;
  readonly mode: CageMode;
  /** Whether the cage was to get a user namespace of its own (always, unless --no-userns as root). */
  readonly userns?: boolean;
}

const SUDO_HINT = "run with sudo -E wgcage …";

/** The refusal when unprivileged user namespaces are not available, if so. */
function usernsRefusal(host: HostFacts): string | undefined {
  if (host.apparmorRestrictsUserns === 1) {
    return "wgcage: Cannot create a user namespace: AppArmor restricts unprivileged user " +
      `namespaces (kernel.apparmor_restrict_unprivileged_userns=1); ${SUDO_HINT} or allow them ` +
      "with sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0";
  }
  if (host.maxUserNamespaces === 0) {
    return "wgcage: Cannot create a user namespace: user namespaces are disabled " +
      `(user.max_user_namespaces=0); ${SUDO_HINT} or enable them with ` +
      "sudo sysctl -w user.max_user_namespaces=15000";
  }
  if (host.unprivilegedUsernsClone === 0) {
    return "wgcage: Cannot create a user namespace: unprivileged user namespaces are disabled " +
      `(kernel.unprivileged_userns_clone=0); ${SUDO_HINT} or enable them with ` +
      "sudo sysctl -w kernel.unprivileged_userns_clone=1";
  }
  return undefined;
}

export function quote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/** A script that cannot run because its `#!` interpreter is missing (127). */
export function missingInterpreterError(
  command: string,
  interpreter: string,
  detail: { stage?: number; errno?: number } = {},
): CageError {
  // A #! line ending in CR (a file saved with DOS line endings) names an
  // interpreter that ends in a carriage return, which no file does.
  if (interpreter.endsWith("\r")) {
    return new CageError(
      `wgcage: Cannot run ${quote(command)}: its #! line ends in a carriage return (DOS line ` +
        "endings), so its interpreter is not found; convert the file, e.g. with dos2unix",
      EXIT_NOT_FOUND,
      detail,
    );
  }
  return new CageError(
    `wgcage: Cannot run ${quote(command)}: its interpreter ${
      quote(interpreter)
    } (from its #! line) is not found; install it or fix the #! line`,
    EXIT_NOT_FOUND,
    detail,
  );
}

/**
 * The error for a launcher failure at `stage` with `errno`. Exec failures
 * become 127 (not found) or 126 (not executable); everything else is a
 * refusal with status 125.
 */
export function cageFailure(
  stage: number,
  errno: number,
  ctx: FailureContext,
  host: HostFacts = readHostFacts(),
): CageError {
  const detail = { stage, errno };
  const refuse = (message: string) => new CageError(message, EXIT_REFUSED, detail);
  const what = describe(errno);
  const denied = errno === EPERM || errno === EACCES;

  if (stage === Stage.Exec) {
    const name = quote(ctx.command);
    // ENOENT for a script that is there: its interpreter is not.
    const interpreter = errno === ENOENT && ctx.command.includes("/")
      ? missingInterpreter(ctx.command)
      : undefined;
    if (interpreter !== undefined) return missingInterpreterError(ctx.command, interpreter, detail);
    if (errno === ENOENT || errno === ENOTDIR || errno === ELOOP) {
      return new CageError(`wgcage: Cannot run ${name}: command not found`, EXIT_NOT_FOUND, detail);
    }
    const fix = errno === EACCES
      ? "; check that it is an executable file (chmod +x) on a file system not mounted noexec"
      : "";
    return new CageError(`wgcage: Cannot run ${name}: ${what}${fix}`, EXIT_NOT_EXECUTABLE, detail);
  }

  // With AppArmor's restriction, the user namespace is created but holds no
  // capabilities, so the first privileged step fails with EPERM.
  if (ctx.mode === "userns") {
    const userns = usernsRefusal(host);
    const usernsStage = stage === Stage.Clone || stage === Stage.Maps ||
      (denied && stage !== Stage.TunOpen);
    if (userns !== undefined && usernsStage) return refuse(userns);
  }

  // As root the cage still gets a user namespace, so that the command's
  // capabilities reach only the cage; a host that refuses one even to root
  // (a container's seccomp profile) gets its own message.
  if (
    ctx.mode !== "userns" && ctx.userns !== false && (stage === Stage.Clone || stage === Stage.Maps)
  ) {
    if (denied || errno === EINVAL || errno === ENOSPC || errno === EUSERS) {
      return refuse(
        `wgcage: Cannot give the cage its own user namespace as root: ${what} (the host, e.g. a ` +
          "container's seccomp profile, refuses it); allow user namespaces, or pass --no-userns " +
          "to run without that boundary (the command then keeps root's power over the host)",
      );
    }
  }

  switch (stage) {
    case Stage.Request:
      return refuse(
        `wgcage: Cannot set up the cage: the request was rejected (${what}); ` +
          "check the TUN name (1 to 15 characters) and the command",
      );
    case Stage.Clone:
      if (errno === ENOSPC || errno === EUSERS) {
        return refuse(
          `wgcage: Cannot create the cage's namespaces: ${what}; raise ` +
            "user.max_user_namespaces / user.max_net_namespaces, or end other containers",
        );
      }
      return refuse(`wgcage: Cannot create the cage's namespaces: ${what}; ${SUDO_HINT}`);
    case Stage.Maps:
      return refuse(`wgcage: Cannot map your user into the cage: ${what}; ${SUDO_HINT}`);
    case Stage.TunOpen:
      if (errno === ENOENT || errno === ENODEV || errno === ENXIO) {
        return refuse(
          `wgcage: Cannot open /dev/net/tun: ${what}; in a container, run it with ` +
            "--device /dev/net/tun; on a host, load the module (sudo modprobe tun)",
        );
      }
      if (denied) {
        return refuse(
          `wgcage: Cannot open /dev/net/tun: ${what}; run with sudo or make it ` +
            "accessible (sudo chmod 0666 /dev/net/tun); in a container, add --device /dev/net/tun",
        );
      }
      return refuse(`wgcage: Cannot open /dev/net/tun: ${what}; check the tun module`);
    case Stage.TunSetIff:
      return refuse(
        `wgcage: Cannot create the TUN device ${quote(ctx.tunName)}: ${what}; ` +
          "choose another --tun-name or check that the tun module is loaded",
      );
    case Stage.Netlink:
      return refuse(`wgcage: Cannot open a netlink socket in the cage: ${what}; ${SUDO_HINT}`);
    case Stage.MountPrivate:
      return refuse(`wgcage: Cannot make the cage's mounts private: ${what}; ${SUDO_HINT}`);
    case Stage.Hostname:
      return refuse(`wgcage: Cannot set the cage's hostname: ${what}; pass a valid hostname`);
    case Stage.BindResolvConf:
    case Stage.BindHosts:
    case Stage.BindNsswitch: {
      const file = stage === Stage.BindResolvConf
        ? "/etc/resolv.conf"
        : stage === Stage.BindHosts
        ? "/etc/hosts"
        : "/etc/nsswitch.conf";
      return refuse(
        `wgcage: Cannot lay the cage's ${file} over the host's: ${what}; ` +
          `make sure ${file} exists on the host (a file or a symlink)`,
      );
    }
    case Stage.Proc:
      return refuse(
        `wgcage: Cannot mount /proc in the cage: ${what}; in a container, /proc is ` +
          "partly masked: run the container with --security-opt systempaths=unconfined, or use sudo",
      );
    case Stage.PingGroupRange:
      return refuse(`wgcage: Cannot allow ping in the cage (net.ipv4.ping_group_range): ${what}`);
    case Stage.Fork:
      return refuse(
        `wgcage: Cannot start the command in the cage: ${what}; ` +
          "raise the process limit (ulimit -u)",
      );
    case Stage.Hide:
      return refuse(
        `wgcage: Cannot hide a host socket, key file or directory in the cage: ${what}; ` +
          "name the sockets the cage may keep with --keep-socket, or report this",
      );
    case Stage.EtcFiles:
      return refuse(
        `wgcage: Cannot write the cage's /etc files into its own tmpfs: ${what}; ` +
          "the host must allow tmpfs mounts in a new mount namespace",
      );
    case Stage.Confine:
      return refuse(
        `wgcage: Cannot confine the command (no_new_privs and a seccomp filter): ${what}; ` +
          "the kernel needs seccomp filters (CONFIG_SECCOMP_FILTER)",
      );
    case Stage.InitExec:
      return refuse(
        `wgcage: Cannot start the cage's init program: ${what}; the host must allow ` +
          "executing a memfd (sysctl vm.memfd_noexec at 0 or 1; wgcage asks for MFD_EXEC) and " +
          "wgcage's files where they lie " +
          "(a mount without noexec)",
      );
    case Stage.Service:
      if (errno === EADDRINUSE) {
        return refuse(
          `wgcage: Cannot listen in the cage for --host-service: ${what}; give each host ` +
            "service its own cage port (HOST_ADDR:PORT=CAGE_PORT)",
        );
      }
      if (denied) {
        return refuse(
          `wgcage: Cannot listen in the cage for --host-service: ${what}; cage ports below 1024 ` +
            "need --root or root; choose a cage port of 1024 or above (HOST_ADDR:PORT=CAGE_PORT)",
        );
      }
      return refuse(
        `wgcage: Cannot start the cage's socket service (for -p and --host-service): ${what}; ` +
          "raise the process limit (ulimit -u), or run without them",
      );
    case Stage.Credentials:
      return refuse(
        `wgcage: Cannot switch to the sudo user in the cage: ${what}; ` +
          "check SUDO_UID and SUDO_GID, or pass --root",
      );
    default:
      return refuse(
        `wgcage: The cage's launcher stopped (stage ${stage}): ${what}; ` +
          "this is a bug in wgcage, please report it",
      );
  }
}
