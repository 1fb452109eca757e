/**
 * Between the host and the cage, on purpose only: published ports (-p) and
 * host services (--host-service), with a real wireguard-go peer.
 *
 * ```
 *   wgc-…-peer                                  wgc-…-client (the "host" here)
 *   wireguard-go 10.99.0.1/24                   wgcage -p …, --host-service …
 *   server.ts: data on 10.99.0.1:8080             └─ cage: wg0 10.99.0.2/24, lo
 *   veth 198.18.n.1/30  -----------------------  veth 198.18.n.2/30
 *                                               probe.ts clients and services on 127.0.0.1
 * ```
 *
 * Needs root (namespaces, veth), wireguard-go, wg, tcpdump and python3.
 *
 * @module
 */

import { assert } from "./cage/assert.ts";
import { Capture } from "./harness/capture.ts";
import { Lab, requireRoot } from "./harness/netns.ts";
import { assertOnlyWireGuard } from "./harness/pcap.ts";
import { generateKeyPair } from "./harness/keys.ts";
import { startServices } from "./harness/services.ts";
import { endpointOf } from "./harness/wg_peer.ts";
import { NOBODY, runWgcage, wgcageArgv, wgQuick, writeConfig } from "./e2e/wgcage.ts";
import { probeArgv, probeResult, spawnWgcage } from "./forward/wgcage_spawn.ts";
import {
  requireTunnelTools,
  tunnelConfig,
  type TunnelLab,
  tunnelLab,
  upInClient,
  WG_PORT,
} from "./forward/tunnel_lab.ts";

async function requirements(): Promise<void> {
  await requireTunnelTools("The forwarding test");
}

async function setUp(lab: Lab): Promise<TunnelLab> {
  const s = await tunnelLab(lab);
  await startServices(s.peerNs, { binds: ["10.99.0.1"] });
  // The client namespace's loopback has IPv6 (::1) for the published [::1] port.
  return s;
}

for (const rootless of [true, false]) {
  const who = rootless ? "rootless (uid 65534)" : "as root";
  Deno.test(`${who}: -p publishes the cage's TCP and UDP servers on the host; half-close and resets go through; only WireGuard crosses the wire`, async () => {
    await requirements();
    const lab = await Lab.open();
    try {
      const s = await setUp(lab);
      const capture = await Capture.start(lab, s.clientNs, s.link.b.ifname);
      const config = await tunnelConfig(s, rootless);
      const wgcage = await spawnWgcage(lab, s.clientNs, [
        "-v",
        "--config",
        config,
        "-p",
        "17001:7001",
        "-p",
        "[::1]:17001:7001/tcp",
        "-p",
        "127.0.0.1:17002:7002",
        "-p",
        "17003:7003/udp",
        "-p",
        "17004:7004",
        "--",
        ...probeArgv(
          "servers",
          "--tcp",
          "7001",
          "--reset",
          "7002",
          "--udp",
          "7003",
          "--fetch",
          "10.99.0.1:8080",
        ),
      ], rootless);
      const client = async (...args: string[]) =>
        probeResult(await s.clientNs.run(probeArgv(...args), { allowFailure: true }));

      // TCP, host → cage: the client shuts its side, the server answers after EOF.
      const tcp = await client("halfclose", "127.0.0.1:17001", "300000", "--wait-ms", "30000");
      assert(
        tcp.ok && tcp.text === tcp.expected,
        `TCP through -p: ${JSON.stringify(tcp)}; ${wgcage.stderr}`,
      );
      assert(wgcage.lines.includes("fetched 65536"), `the command's own fetch: ${wgcage.stdout}`);
      const tcp6 = await client("halfclose", "[::1]:17001", "1000");
      assert(tcp6.ok && tcp6.text === tcp6.expected, `TCP through [::1]: ${JSON.stringify(tcp6)}`);

      // UDP, host → cage and back.
      const udp = await client("udp", "127.0.0.1:17003", "ping-through-the-cage");
      assert(
        udp.ok && udp.text === "ping-through-the-cage",
        `UDP through -p: ${JSON.stringify(udp)}`,
      );

      // A reset in the cage is a reset on the host.
      const reset = await client("reset", "127.0.0.1:17002");
      assert(reset.ok && reset.reset === true, `reset through -p: ${JSON.stringify(reset)}`);

      // Nobody listens on 7004 in the cage: the client sees a reset, -v says why.
      const refused = await client("line", "127.0.0.1:17004");
      assert(
        !refused.ok && refused.error === "ConnectionReset",
        `refused port: ${JSON.stringify(refused)}`,
      );
      for (
        let waited = 0;
        !/nothing listens on port 7004 in the cage/.test(wgcage.stderr);
        waited += 50
      ) {
        assert(waited < 5000, `-v did not log the refusal: ${wgcage.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }

      const status = await wgcage.stop("SIGTERM", 10_000);
      assert(status.code === 143, `wgcage exited ${status.code}: ${wgcage.stderr}`);
      assertOnlyWireGuard(
        await capture.stop(),
        WG_PORT,
        `the capture saw nothing: ${capture.file} ${(await Deno.stat(capture.file)).size}`,
      );
    } finally {
      await lab.close();
    }
  });

  Deno.test(`${who}: --host-service reaches one host port from the cage, and nothing else of the host`, async () => {
    await requirements();
    const lab = await Lab.open();
    try {
      const s = await setUp(lab);
      const one = s.clientNs.spawn(probeArgv("serve", "127.0.0.1:18001", "service-one"));
      const two = s.clientNs.spawn(probeArgv("serve", "0.0.0.0:18002", "service-two"));
      await one.waitForLine("ready", 20_000);
      await two.waitForLine("ready", 20_000);
      const config = await tunnelConfig(s, rootless);
      // The first connection is made with no retry: the cage's listener
      // exists before the command starts.
      const script = [
        `${probeArgv("line", "127.0.0.1:18001").join(" ")}`,
        `${probeArgv("line", "host.wgcage.internal:18001").join(" ")}`,
        `${probeArgv("line", "127.0.0.1:28001").join(" ")}`,
        `${probeArgv("line", "127.0.0.1:18002").join(" ")}`,
        `${probeArgv("line", `${s.link.b.ipv4}:18002`).join(" ")}`,
        `${probeArgv("line", "127.0.0.1:18003").join(" ")}`,
      ].join("; ");
      const r = await runWgcage(lab, {
        ns: s.clientNs,
        rootless,
        args: [
          "-v",
          "--config",
          config,
          "--host-service",
          "127.0.0.1:18001",
          "--host-service",
          "127.0.0.1:18001=28001",
          "--host-service",
          "127.0.0.1:18004=18003",
          "--",
          "sh",
          "-c",
          script,
        ],
      });
      assert(r.code === 0, `wgcage exited ${r.code}: ${r.stderr}`);
      const results = r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l)
      );
      assert(results.length === 6, `expected 6 results: ${r.stdout}\n${r.stderr}`);
      const [direct, byName, otherCagePort, secondPort, hostAddress, refusedOnHost] = results;
      assert(
        direct.ok && direct.text === "service-one",
        `127.0.0.1:18001: ${JSON.stringify(direct)}`,
      );
      assert(byName.ok && byName.text === "service-one", `by name: ${JSON.stringify(byName)}`);
      assert(
        otherCagePort.ok && otherCagePort.text === "service-one",
        `=28001: ${JSON.stringify(otherCagePort)}`,
      );
      assert(
        !secondPort.ok && secondPort.error === "ConnectionRefused",
        `the second host port must stay refused: ${JSON.stringify(secondPort)}`,
      );
      assert(
        !hostAddress.ok,
        `the host's own address must be out of reach: ${JSON.stringify(hostAddress)}`,
      );
      assert(
        !refusedOnHost.ok && refusedOnHost.error === "ConnectionReset",
        `a host service whose host port refuses: ${JSON.stringify(refusedOnHost)}`,
      );
      assert(
        /--host-service 127\.0\.0\.1:18004=18003: the host's service refused the connection/.test(
          r.stderr,
        ),
        `-v did not log the host's refusal: ${r.stderr}`,
      );
      assert(
        /127\.0\.0\.1:18001 is reachable in the cage at 127\.0\.0\.1:18001/.test(r.stderr),
        r.stderr,
      );
    } finally {
      await lab.close();
    }
  });
}

Deno.test("-p refuses, in one line with 125 and before the cage is made, a host port in use, a privileged port without root, and malformed specs", async () => {
  requireRoot("The forwarding test");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("refuse");
    const keys = await generateKeyPair();
    const peerKey = (await generateKeyPair()).publicKey;
    const text = wgQuick({
      privateKey: keys.privateKey,
      addresses: ["10.99.0.2/24"],
      dns: ["10.99.0.1"],
    }, [{
      publicKey: peerKey,
      allowedIps: ["10.99.0.0/24"],
      endpoint: endpointOf("127.0.0.1", 9),
    }]);
    const rootConfig = await writeConfig(lab, text);
    const nobodyConfig = await writeConfig(lab, text, NOBODY);
    const taken = ns.spawn(probeArgv("serve", "127.0.0.1:17001", "taken"));
    await taken.waitForLine("ready", 20_000);

    const cases: { args: string[]; rootless?: boolean; line: RegExp }[] = [
      {
        args: ["-p", "17001:80"],
        line:
          /^wgcage: Cannot publish 127\.0\.0\.1:17001\/tcp: the port is in use on the host; choose another host port/,
      },
      {
        args: ["-p", "80:8080"],
        rootless: true,
        line:
          /^wgcage: Cannot publish 127\.0\.0\.1:80\/tcp: ports below 1024 need root .*1024 or above/,
      },
      {
        args: ["-p", "70000:80"],
        line: /^wgcage: -p '70000:80' is not valid: host port 70000 is out of range/,
      },
      {
        args: ["-p", "8080:0/udp"],
        line: /^wgcage: -p '8080:0\/udp' is not valid: cage port 0 is out of range/,
      },
      { args: ["-p", "8080"], line: /^wgcage: -p '8080' is not valid: give both ports/ },
      {
        args: ["-p", "8080:80/sctp"],
        line: /^wgcage: -p '8080:80\/sctp' is not valid: protocol 'sctp'/,
      },
      { args: ["-p", "::1:8080:80"], line: /^wgcage: -p '::1:8080:80' is not valid: too many ':'/ },
      {
        args: ["--host-service", "localhost:5432"],
        line:
          /^wgcage: --host-service 'localhost:5432' is not valid: 'localhost' is not an IP address/,
      },
      {
        args: ["--host-service", "127.0.0.1:80"],
        rootless: true,
        line: /^wgcage: --host-service cage port 80 is below 1024, which needs --root in the cage/,
      },
    ];
    for (const c of cases) {
      const config = c.rootless ? nobodyConfig : rootConfig;
      const r = await runWgcage(lab, {
        ns,
        rootless: c.rootless,
        args: ["--config", config, ...c.args, "--", "touch", "/tmp/wgc-forward-must-not-run"],
      });
      const lines = r.stderr.trim().split("\n");
      assert(r.code === 125, `${c.args.join(" ")}: exit ${r.code}: ${r.stderr}`);
      assert(lines.length === 1, `${c.args.join(" ")}: expected one line, got: ${r.stderr}`);
      assert(c.line.test(lines[0]), `${c.args.join(" ")}: ${lines[0]}`);
    }
    // The port in use is still the other program's.
    const still = probeResult(
      await ns.run(probeArgv("line", "127.0.0.1:17001"), { allowFailure: true }),
    );
    assert(still.ok && still.text === "taken", JSON.stringify(still));
    let ran = true;
    try {
      await Deno.stat("/tmp/wgc-forward-must-not-run");
    } catch {
      ran = false;
    }
    assert(!ran, "a refused run ran its command");
  } finally {
    await lab.close();
  }
});

Deno.test("a live cage ('wgcage up NAME -p … --host-service …') publishes for the commands that join it, and reaches its host service", async () => {
  await requirements();
  const lab = await Lab.open();
  const name = `fwd${Deno.pid % 100000}x${Math.floor(Math.random() * 1000)}`;
  try {
    const s = await setUp(lab);
    const config = await tunnelConfig(s, false);
    const service = s.clientNs.spawn(probeArgv("serve", "127.0.0.1:18001", "service-one"));
    await service.waitForLine("ready", 20_000);
    const wgcage = await upInClient(s, name, [
      "--config",
      config,
      "-p",
      "17001:7001",
      "--host-service",
      "127.0.0.1:18001",
    ]);
    const servers = s.clientNs.spawn(
      wgcageArgv([
        "exec",
        name,
        "--",
        ...probeArgv("servers", "--tcp", "7001", "--reset", "7002", "--udp", "7003"),
      ]),
    );
    await servers.waitForLine("ready", 30_000);
    const tcp = probeResult(
      await s.clientNs.run(
        probeArgv("halfclose", "127.0.0.1:17001", "100000", "--wait-ms", "10000"),
        {
          allowFailure: true,
        },
      ),
    );
    assert(tcp.ok && tcp.text === tcp.expected, `TCP into the live cage: ${JSON.stringify(tcp)}`);
    const line = probeResult(
      await wgcage(["exec", name, "--", ...probeArgv("line", "host.wgcage.internal:18001")]),
    );
    assert(
      line.ok && line.text === "service-one",
      `the host service from a joined command: ${JSON.stringify(line)}`,
    );
    const down = await wgcage(["down", name]);
    assert(down.code === 0, `down exited ${down.code}: ${down.stderr}`);
  } finally {
    await lab.close();
  }
});
