/**
 * `wgcage [options] -- cmd args…`: load the config, open the tunnel, wait for
 * the first handshake, run the command, and return its exit status.
 *
 * @module
 */

import type { RunOptions } from "./args.ts";
import { hostLoadIo, loadConfig } from "../config/load.ts";
import { forwardSignals, protectProcess } from "../cage/mod.ts";
import { Tunnel } from "../tunnel.ts";
import { listenForInterruption } from "./interruption.ts";
import { assertCommandExists } from "./command_lookup.ts";
import { optionWarnings, proxyWarning } from "./run_warnings.ts";
import { describeHidden, hiddenWarning, hostSocketsToHide } from "../cage/host_sockets.ts";
import { releaseStartupCode } from "../launcher/startup_code.ts";
import { secretFileCovers } from "../config/secret_files.ts";
import { withdrawSecretStdin } from "../cage/stdin_secret.ts";
import { stateDirsToCover } from "../live/state_cover.ts";
import { forwardPlanOf } from "../forward/plan.ts";
import { breakdownLines, phaseBegins, phaseEnds } from "../startup_breakdown.ts";
import { stderrLine } from "./stderr_line.ts";

/** How long the command runs before wgcage unmaps its start-up code (ms). */
const RELEASE_DELAY_MS = 250;

export async function runCommand(options: RunOptions, argv: string[]): Promise<number> {
  const started = performance.now();
  phaseEnds("launcher and arguments");
  assertCommandExists(argv[0]);
  // Before any secret is read: no core file, no /proc/PID/mem for others.
  await protectProcess();
  phaseBegins("config read");
  // The peer keys are checked once the core is compiled, while the cage is
  // made; a key the check refuses stops the run before the command starts.
  const { config, warnings, secretFiles, peerKeysChecked } = await loadConfig(
    { config: options.config, flags: options.flags },
    hostLoadIo,
    { deferPeerKeyCheck: true },
  );
  phaseEnds("config read");
  // The warnings once the keys passed: a refused key is the run's one line.
  const proxies = proxyWarning(Deno.env.toObject());
  const warned = peerKeysChecked.then(() => {
    for (const w of warnings) stderrLine(w);
    for (const w of optionWarnings(options)) stderrLine(w);
    if (proxies !== undefined) stderrLine(proxies);
  });
  warned.catch(() => {});
  /** A warning of the set-up, after those: none when a key is refused. */
  const warn = (line: string) => void warned.then(() => stderrLine(line), () => {});

  // -v: times are seconds since wgcage began the run.
  const log = options.verbose
    ? (line: string) =>
      stderrLine(`wgcage: [${((performance.now() - started) / 1000).toFixed(3)}] ${line}`)
    : undefined;
  log?.(`config from ${config.source}: ${config.peers.length} peer(s)`);
  const sockets = hostSocketsToHide({
    hideAll: options.hideSockets,
    keep: options.keepSockets,
    runtimeDir: Deno.env.get("XDG_RUNTIME_DIR"),
    stateDirs: stateDirsToCover(),
    // The command must not read the keys back from where wgcage found them.
    // --socks-auth's login is a secret too (it may open more than this proxy).
    secretFiles: secretFileCovers(
      options.socksAuthFile === undefined ? secretFiles : [...secretFiles, options.socksAuthFile],
    ),
  });
  const truncated = hiddenWarning(sockets);
  if (truncated !== undefined) warn(truncated);
  log?.(describeHidden(sockets, options.hideSockets));

  const interruption = listenForInterruption();
  // Reads the --socks-auth login, which `--socks-auth /dev/stdin` takes from
  // stdin: before stdin goes.
  const forwards = forwardPlanOf(options, config, warn);
  // Before the cage: the command inherits stdin, which may be the key file or
  // the login (a secret too: it may open more than this proxy).
  withdrawSecretStdin(
    options.config?.kind === "stdin",
    options.socksAuthFile === undefined ? secretFiles : [...secretFiles, options.socksAuthFile],
  );
  const opening = Tunnel.open({
    config,
    argv,
    tunName: options.tunName ?? "wg0",
    mapRoot: options.root,
    noUserns: options.noUserns,
    hidePaths: sockets.paths,
    hostname: options.hostname,
    log,
    warn,
    forwards,
  });
  const opened = await Promise.race([opening, interruption.status]).catch(async (e) => {
    interruption.remove();
    // The core refuses a peer whose key the check refuses; the check's
    // message, which names the line and the fix, goes first.
    await peerKeysChecked;
    throw e;
  });
  if (typeof opened === "number") {
    interruption.remove();
    await opening.then((t) => t.close(), () => {});
    return opened;
  }
  const tunnel = opened;
  let stopForwarding = () => {};
  try {
    await warned;
    if (tunnel.initiates && options.handshakeTimeoutMs > 0) {
      const handshake = tunnel.waitForHandshake(options.handshakeTimeoutMs).then(() => undefined);
      const interrupted = await Promise.race([handshake, interruption.status]);
      if (interrupted !== undefined) return interrupted;
    }
    // From here on, signals are the command's to handle.
    interruption.remove();
    stopForwarding = forwardSignals(tunnel.cage);
    log?.("starting the command");
    return await tunnel.run(() => {
      if (log) { for (const line of breakdownLines()) log(line); }
      // Not at once: a command that ends within the delay (a CI step's
      // `true`, `test`, a quick curl) would only have wgcage unmap the pages
      // and fault back those its exit needs, for memory it gives back anyway.
      tunnel.later(RELEASE_DELAY_MS, () => {
        const kib = releaseStartupCode();
        log?.(`start-up code pages given back: ${kib ?? "none"} KiB`);
      });
    });
  } finally {
    interruption.remove();
    stopForwarding();
    await tunnel.close();
  }
}
