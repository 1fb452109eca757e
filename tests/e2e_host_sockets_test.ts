/**
 * The cage and the host's unix sockets. A socket file on the shared file
 * system leads to whatever daemon listens on it, outside the tunnel, and no
 * network namespace closes that way.
 *
 * - nscd: glibc asks it before it reads nsswitch.conf, so with nscd on the
 *   host the cage's lookups would be made by the host's resolver, in clear
 *   text. Here the "host" is a private mount namespace of the test in which
 *   /run is a fresh tmpfs (the machine's own /run is never touched), with
 *   nscd resolving through a DNS responder on 127.0.0.1, and wgcage runs in
 *   that same mount namespace. A lookup in the cage must go through the
 *   tunnel to the peer's responder instead: nscd's counters do not move, the
 *   host's responder sees no query, and only WireGuard UDP crosses the link.
 *
 *   ```
 *   wgc-…-peer                          wgc-…-client, private mount namespace
 *   wireguard-go 10.99.0.1/24           nscd (/run/nscd/socket) → 127.0.0.1:53
 *   server.ts DNS on 10.99.0.1:         server.ts DNS on 127.0.0.1:
 *     probe.wgcage.test → 10.99.0.1       probe.wgcage.test → 192.0.2.77
 *                                       wgcage ── cage 10.99.0.2: getent probe…
 *   veth 198.18.n.1/30 ──────────────── veth 198.18.n.2/30
 *   ```
 *
 * - Other daemons, played by socat listeners under /run, /tmp and an
 *   $XDG_RUNTIME_DIR: reachable by default (only the name services are
 *   hidden by default), unreachable with --hide-sockets, reachable again
 *   with --keep-socket.
 *
 * Rootless (uid 65534) and as root. Needs root, wireguard-go, wg, nscd,
 * socat and tcpdump; every listener, socket, file and namespace is removed.
 *
 * @module
 */

import { Capture } from "./harness/capture.ts";
import { Lab, type Namespace, requireRoot, requireTool } from "./harness/netns.ts";
import { assertOnlyWireGuard } from "./harness/pcap.ts";
import { run, type RunResult, sleep, waitUntil } from "./harness/process.ts";
import { startServices } from "./harness/services.ts";
import { generateKeyPair } from "./harness/keys.ts";
import {
  NOBODY,
  nobodyArgv,
  nobodyDenoDir,
  privateTunNode,
  runWgcage,
  wgcageArgv,
  wgQuick,
  writeConfig,
} from "./e2e/wgcage.ts";
import { tunnelConfig, tunnelLab, WG_PORT } from "./forward/tunnel_lab.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Answered by the peer's responder, through the tunnel. */
const PROBE = "probe.wgcage.test";
/** What the host's responder answers for PROBE: seen in the cage only if a lookup leaked. */
const LEAKED_ADDRESS = "192.0.2.77";
/** A name looked up on the host itself, to show that its nscd answers. */
const OUTSIDE = "outside.wgcage.test";

/** nscd for the test's "host": hosts cached, nothing shared or kept on disk. */
const NSCD_CONF = [
  "enable-cache hosts yes",
  "positive-time-to-live hosts 600",
  "negative-time-to-live hosts 5",
  "check-files hosts yes",
  "persistent hosts no",
  "shared hosts no",
  "enable-cache passwd no",
  "enable-cache group no",
  "enable-cache services no",
  "enable-cache netgroup no",
  "",
].join("\n");

/**
 * Runs as root in a private mount and PID namespace inside the client
 * namespace: $0 is the test's directory, $1 a TUN node to lay over
 * /dev/net/tun ('-' for none), the rest is wgcage's command line. nscd dies
 * with the PID namespace, /run's tmpfs with the mount namespace.
 */
const HOST_SCRIPT = `
set -e
dir=$0
tun=$1
shift
lookups() {
  nscd -g -f "$dir/nscd.conf" | awk '/^hosts cache:/ { h = 1; next } /cache:$/ { h = 0 }
    h && /cache (hits|misses) on/ { n += $1 } END { print n + 0 }'
}
resolv=$(readlink -f /etc/resolv.conf)
mount -t tmpfs -o mode=0755,size=4m wgcage-test /run
case "$resolv" in /run/*) mkdir -p "\${resolv%/*}"; : > "$resolv" ;; esac
mount --bind "$dir/resolv.conf" "$resolv"
mount --bind "$dir/nsswitch.conf" /etc/nsswitch.conf
mkdir /run/nscd
start_nscd() {
  nscd -F -f "$dir/nscd.conf" &
  nscd_pid=$!
  i=0
  until [ -S /run/nscd/socket ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || { echo "nscd did not start" >&2; exit 99; }
    sleep 0.05
  done
}
start_nscd
[ "$tun" = - ] || mount --bind "$tun" /dev/net/tun
echo "outside: $(getent ahostsv4 ${OUTSIDE} | head -n 1)"
echo "nscd-before: $(lookups)"
set +e
"$@" &
cage=$!
# Once the cage has looked, nscd restarts: its socket is made anew, a new
# file that a cover bound to the old one would not hide.
i=0
until [ -e "$dir/flags/probed" ] || [ $i -ge 600 ]; do i=$((i + 1)); sleep 0.05; done
echo "nscd-mid: $(lookups)"
kill $nscd_pid; wait $nscd_pid 2>/dev/null
rm -f /run/nscd/socket
start_nscd
echo "nscd-restarted: $(lookups)"
: > "$dir/flags/restarted"
wait $cage
status=$?
echo "nscd-after: $(lookups)"
exit $status
`;

/**
 * What the cage runs: a lookup and a plain connect to nscd's socket, then,
 * once nscd restarted on the host ($0 is the flags directory), the connect
 * again.
 */
const CAGE_PROBE = [
  "sh",
  "-c",
  `getent ahostsv4 ${PROBE} | head -n 1; ` +
  `socat -u OPEN:/dev/null UNIX-CONNECT:/var/run/nscd/socket 2>/dev/null; echo "nscd-connect: $?"; ` +
  `: > "$0/probed"; i=0; until [ -e "$0/restarted" ] || [ $i -ge 600 ]; do i=$((i + 1)); sleep 0.05; done; ` +
  `socat -u OPEN:/dev/null UNIX-CONNECT:/var/run/nscd/socket 2>/dev/null; echo "nscd-connect-after-restart: $?"`,
];

function field(stdout: string, name: string): string {
  const line = stdout.split("\n").find((l) => l.startsWith(`${name}: `));
  if (line === undefined) throw new Error(`no '${name}:' line in: ${stdout}`);
  return line.slice(name.length + 2);
}

async function nscdRequirements(): Promise<void> {
  requireRoot("The host socket test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  await requireTool("nscd", "nscd");
  await requireTool("socat", "socat");
  await requireTool("tcpdump", "tcpdump");
}

/** The "host" of the nscd test: its files, in a directory the lab removes. */
async function hostFiles(lab: Lab): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "wgc-nscd-" });
  lab.defer(() => Deno.remove(dir, { recursive: true }));
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(`${dir}/nscd.conf`, NSCD_CONF);
  await Deno.mkdir(`${dir}/flags`);
  await Deno.chmod(`${dir}/flags`, 0o777); // the rootless cage writes its flag there
  await Deno.writeTextFile(`${dir}/resolv.conf`, "nameserver 127.0.0.1\noptions timeout:1\n");
  await Deno.writeTextFile(
    `${dir}/nsswitch.conf`,
    "passwd: files\ngroup: files\nhosts: dns\nservices: files\n",
  );
  return dir;
}

for (const rootless of [true, false]) {
  const who = rootless ? "rootless (uid 65534)" : "as root";
  Deno.test(`${who}: a lookup in the cage does not reach the host's nscd; it goes through the tunnel`, async () => {
    await nscdRequirements();
    const lab = await Lab.open();
    try {
      const s = await tunnelLab(lab);
      const { peerNs, clientNs, link } = s;
      const tunnelDns = await startServices(peerNs, {
        binds: ["10.99.0.1"],
        dnsNames: [`${PROBE}=10.99.0.1`],
      });
      const hostDns = await startServices(clientNs, {
        binds: ["127.0.0.1"],
        dnsNames: [`${PROBE}=${LEAKED_ADDRESS}`, `${OUTSIDE}=192.0.2.78`],
      });
      const dir = await hostFiles(lab);
      const config = await tunnelConfig(s, rootless);
      let wgcage = wgcageArgv(["-v", "--config", config, "--", ...CAGE_PROBE, `${dir}/flags`]);
      let tun = "-";
      if (rootless) {
        tun = `${await privateTunNode(lab, 0o666)}/tun`;
        const denoDir = await nobodyDenoDir(lab);
        wgcage = nobodyArgv(denoDir, wgcage);
      }
      const capture = await Capture.start(lab, clientNs, link.b.ifname);
      const r = await run([
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "sh",
        "-c",
        HOST_SCRIPT,
        dir,
        tun,
        ...wgcage,
      ], { ns: clientNs.name, allowFailure: true, timeoutMs: 60_000 });
      const said = `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

      // The host's nscd answers, through the host's resolver on 127.0.0.1.
      assert(field(r.stdout, "outside").startsWith("192.0.2.78"), `nscd did not answer: ${said}`);
      assert(r.code === 0, said);
      // The cage's lookup went through the tunnel, to the peer's responder...
      assert(r.stdout.includes("10.99.0.1"), `the cage resolved ${PROBE} otherwise: ${said}`);
      assert(!r.stdout.includes(LEAKED_ADDRESS), `the host's nscd answered the cage: ${said}`);
      await tunnelDns.waitForDnsQuery((q) => q.name === PROBE && q.from === "10.99.0.2");
      // ...not to nscd, whose socket the cage cannot even connect to...
      assert(
        field(r.stdout, "nscd-before") === field(r.stdout, "nscd-mid"),
        `nscd answered lookups while the cage ran: ${said}`,
      );
      assert(
        field(r.stdout, "nscd-restarted") === field(r.stdout, "nscd-after"),
        `the restarted nscd answered lookups while the cage ran: ${said}`,
      );
      assert(field(r.stdout, "nscd-connect") !== "0", `the cage connected to nscd: ${said}`);
      assert(
        field(r.stdout, "nscd-connect-after-restart") !== "0",
        `after nscd restarted, the cage connected to its new socket: ${said}`,
      );
      // nscd's directory, the config file, and (as root) the live cages' state directory.
      assert(/hiding [23] host paths from the cage/.test(r.stderr), `-v said: ${r.stderr}`);
      // ...and not to the host's resolver.
      const hostQueries = hostDns.dnsQueries().map((q) => q.name);
      assert(hostQueries.includes(OUTSIDE), `the host's resolver saw: ${hostQueries}`);
      assert(!hostQueries.includes(PROBE), `the cage's lookup reached the host's resolver`);
      // Only WireGuard crossed the link. (tcpdump gets packets from the kernel
      // in blocks handed over at least once a second: wait for the last one.)
      await sleep(1_500);
      assertOnlyWireGuard(await capture.stop(), WG_PORT, `the capture saw nothing: ${said}`);
    } finally {
      await lab.close();
    }
  });
}

/** A socat listener answering `pong` on a unix socket at `path`, any user may connect. */
async function listener(lab: Lab, path: string): Promise<void> {
  lab.defer(() => Deno.remove(path).catch(() => {}));
  const process = lab.spawn(["socat", `UNIX-LISTEN:${path},fork,mode=0666`, "SYSTEM:echo pong"]);
  await waitUntil(
    () => {
      if (process.exited) throw new Error(`socat on ${path} exited: ${process.stderr}`);
      try {
        return Deno.lstatSync(path).isSocket === true;
      } catch {
        return false;
      }
    },
    `socat to listen on ${path}`,
    10_000,
  );
}

/** What the cage prints for each socket: `PATH: pong`, or `PATH: refused`. */
function reach(paths: string[]): string[] {
  return [
    "sh",
    "-c",
    `for s in "$@"; do echo "$s: $(socat -u UNIX-CONNECT:"$s" STDOUT 2>/dev/null || echo refused)"; done`,
    "reach",
    ...paths,
  ];
}

function reached(r: RunResult, path: string): string {
  return field(r.stdout, path);
}

for (const rootless of [true, false]) {
  const who = rootless ? "rootless (uid 65534)" : "as root";
  Deno.test(`${who}: other host sockets stay reachable by default, --hide-sockets hides them, --keep-socket keeps one`, async () => {
    requireRoot("The host socket test");
    await requireTool("socat", "socat");
    await requireTool("wg", "wireguard-tools");
    const lab = await Lab.open();
    try {
      const ns: Namespace = await lab.namespace("sockets");
      const tag = `wgcage-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
      const runtimeDir = `/dev/shm/${tag}`;
      await Deno.mkdir(runtimeDir, { mode: 0o755 });
      lab.defer(() => Deno.remove(runtimeDir, { recursive: true }));
      const sockets = {
        run: `/run/${tag}.sock`,
        tmp: `/tmp/${tag}.sock`,
        xdg: `${runtimeDir}/agent.sock`,
      };
      for (const path of Object.values(sockets)) await listener(lab, path);
      const all = Object.values(sockets);
      // A peer that never calls: the cage needs no handshake to reach a unix socket.
      const keys = await generateKeyPair();
      const config = await writeConfig(
        lab,
        wgQuick({ privateKey: keys.privateKey, addresses: ["10.99.0.2/24"], listenPort: 51830 }, [{
          publicKey: (await generateKeyPair()).publicKey,
          allowedIps: ["10.99.0.0/24"],
        }]),
        rootless ? NOBODY : 0,
      );
      const wgcage = (options: string[], env: Record<string, string> = {}) =>
        runWgcage(lab, {
          ns,
          rootless,
          args: [...options, "--config", config, "--", ...reach(all)],
          env: { XDG_RUNTIME_DIR: runtimeDir, ...env },
        });

      const plain = await wgcage([]);
      assert(plain.code === 0, `exit ${plain.code}: ${plain.stderr}`);
      for (const path of all) assert(reached(plain, path) === "pong", `default: ${plain.stdout}`);

      const hidden = await wgcage(["-v", "--hide-sockets"]);
      assert(hidden.code === 0, `exit ${hidden.code}: ${hidden.stderr}`);
      for (const path of all) {
        assert(reached(hidden, path) === "refused", `--hide-sockets: ${hidden.stdout}`);
      }
      assert(
        /hiding \d+ host paths from the cage \(looked at \d+ entries/.test(hidden.stderr),
        `-v said: ${hidden.stderr}`,
      );

      // Kept through the /var/run symlink where there is one: the same socket.
      const viaVarRun = Deno.realPathSync("/var/run") === "/run"
        ? sockets.run.replace(/^\/run\//, "/var/run/")
        : sockets.run;
      const kept = await wgcage([
        "--hide-sockets",
        "--keep-socket",
        viaVarRun,
        "--keep-socket",
        sockets.xdg,
      ]);
      assert(kept.code === 0, `exit ${kept.code}: ${kept.stderr}`);
      assert(reached(kept, sockets.run) === "pong", `kept: ${kept.stdout}`);
      assert(reached(kept, sockets.xdg) === "pong", `kept: ${kept.stdout}`);
      assert(reached(kept, sockets.tmp) === "refused", `kept: ${kept.stdout}`);

      for (
        const [path, why] of [
          [`/run/${tag}-missing.sock`, "no such file"],
          [config, "it is not a unix socket"],
        ]
      ) {
        const refused = await wgcage(["--hide-sockets", "--keep-socket", path]);
        const lines = refused.stderr.trim().split("\n");
        assert(refused.code === 125, `--keep-socket ${path}: exit ${refused.code}`);
        assert(lines.length === 1, `more than one line: ${refused.stderr}`);
        assert(lines[0].startsWith(`wgcage: Cannot keep '${path}'`), lines[0]);
        assert(lines[0].includes(why), lines[0]);
        assert(refused.stdout === "", `the command ran: ${refused.stdout}`);
      }
    } finally {
      await lab.close();
    }
  });
}
