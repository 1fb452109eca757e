/**
 * The tunnel for programs that stay on the host: -L, --socks and
 * --http-proxy, with a real wireguard-go peer. Every connection is made in
 * the cage, so names are resolved by the tunnel's DNS and nothing but
 * WireGuard crosses the client's link.
 *
 * ```
 *   wgc-…-peer                                  wgc-…-client (the "host" here)
 *   wireguard-go 10.99.0.1/24                   wgcage -L …, --socks, --http-proxy
 *   DNS: web.tunnel.test = 10.99.0.1              └─ cage: wg0 10.99.0.2/24, lo
 *   HTTP :8000, TCP echo :7001 (socat)          curl, python3 clients on 127.0.0.1
 *   veth 198.18.n.1/30  -----------------------  veth 198.18.n.2/30
 * ```
 *
 * Needs root (namespaces, veth), wireguard-go, wg, tcpdump, curl, socat and python3.
 *
 * @module
 */

import { assert } from "./cage/assert.ts";
import { Capture } from "./harness/capture.ts";
import { Lab, type Namespace } from "./harness/netns.ts";
import { assertOnlyWireGuard } from "./harness/pcap.ts";
import { type Services, startServices } from "./harness/services.ts";
import { runWgcage, wgcageArgv } from "./e2e/wgcage.ts";
import { spawnWgcage } from "./forward/wgcage_spawn.ts";
import {
  requireTunnelTools,
  tunnelConfig,
  type TunnelLab,
  tunnelLab,
  upInClient,
  WG_PORT,
} from "./forward/tunnel_lab.ts";
import { cageName } from "./harness/names.ts";
import type { NsProcess } from "./harness/process.ts";

const PAGE = "served-through-the-tunnel\n";

interface Setup extends TunnelLab {
  services: Services;
}

async function requirements(): Promise<void> {
  await requireTunnelTools("The proxy test", [["curl", "curl"], ["socat", "socat"]]);
}

async function setUp(lab: Lab): Promise<Setup> {
  const s = await tunnelLab(lab);
  const peerNs = s.peerNs;
  const services = await startServices(peerNs, {
    binds: ["10.99.0.1"],
    dnsNames: ["web.tunnel.test=10.99.0.1"],
  });
  const root = `${await lab.tempDir()}/www`;
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeTextFile(`${root}/page.txt`, PAGE);
  const http = peerNs.spawn([
    "/usr/bin/python3",
    "-u",
    "-m",
    "http.server",
    "--bind",
    "10.99.0.1",
    "--directory",
    root,
    "8000",
  ]);
  const echo = peerNs.spawn([
    "socat",
    "TCP-LISTEN:7001,bind=10.99.0.1,reuseaddr,fork",
    "EXEC:cat",
  ]);
  const udpEcho = peerNs.spawn([
    "socat",
    "UDP-RECVFROM:7002,bind=10.99.0.1,fork",
    "EXEC:cat",
  ]);
  lab.defer(async () => {
    for (const p of [http, echo, udpEcho]) await p.stop("SIGTERM", 5000).catch(() => {});
  });
  await waitForPort(peerNs, "10.99.0.1", 8000);
  await waitForPort(peerNs, "10.99.0.1", 7001);
  return { ...s, services };
}

/** Whether `host:port` takes a connection within `tries` tries, 100 ms apart. */
async function portOpens(ns: Namespace, host: string, port: number, tries: number) {
  for (let i = 0; i < tries; i++) {
    const r = await ns.run(["socat", "-u", "/dev/null", `TCP:${host}:${port}`], {
      allowFailure: true,
    });
    if (r.code === 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function waitForPort(ns: Namespace, host: string, port: number): Promise<void> {
  if (!await portOpens(ns, host, port, 100)) throw new Error(`nothing listens on ${host}:${port}`);
}

/** curl in the client namespace: its status, body and stderr. */
async function curl(ns: Namespace, ...args: string[]) {
  return await ns.run(["curl", "-sS", "--max-time", "20", ...args], { allowFailure: true });
}

/** Sends `mib` MiB to an echo through host:port, shuts its side, checks the echo. */
const HALF_CLOSE_CLIENT = `
import hashlib, os, socket, sys, threading
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) << 20
data = os.urandom(n)
s = socket.create_connection((host, port), timeout=60)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
got = bytearray()
while True:
    b = s.recv(1 << 20)
    if not b: break
    got += b
t.join()
print("same" if hashlib.sha256(got).digest() == hashlib.sha256(data).digest() else f"differ {len(got)}")
`;

async function waitForLog(p: NsProcess, pattern: RegExp, what: string): Promise<void> {
  for (let waited = 0; !pattern.test(p.stderr); waited += 50) {
    assert(waited < 10_000, `-v did not say ${what}: ${p.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the proxy's port takes connections (the tunnel is up). */
async function waitForListen(ns: Namespace, port: number, p: NsProcess): Promise<void> {
  if (!await portOpens(ns, "127.0.0.1", port, 300)) {
    throw new Error(`wgcage never listened on ${port}: ${p.stderr}`);
  }
}

/**
 * Runs `body` in a lab of its own, set up, with the cage's config (owned by
 * uid 65534 when `rootless`); the lab is closed after, whatever happened.
 */
async function inLab(
  rootless: boolean,
  body: (s: Setup, config: string) => Promise<void>,
): Promise<void> {
  await requirements();
  const lab = await Lab.open();
  try {
    const s = await setUp(lab);
    await body(s, await tunnelConfig(s, rootless));
  } finally {
    await lab.close();
  }
}

/** wgcage -v in the client namespace, once its --socks port 17080 takes connections. */
async function proxyCage(
  s: Setup,
  config: string,
  args: string[],
  rootless = false,
): Promise<NsProcess> {
  const wgcage = await spawnWgcage(
    s.lab,
    s.clientNs,
    ["-v", "--config", config, ...args],
    rootless,
  );
  await waitForListen(s.clientNs, 17080, wgcage);
  return wgcage;
}

/** SIGTERM ends wgcage and its command: it exits 143, as the command did. */
async function assertStopsOnSigterm(wgcage: NsProcess): Promise<void> {
  const status = await wgcage.stop("SIGTERM", 10_000);
  assert(status.code === 143, `wgcage exited ${status.code}: ${wgcage.stderr}`);
}

/** curl through the --socks proxy on 127.0.0.1:17080, names resolved by the proxy. */
async function socksCurl(s: Setup, ...args: string[]) {
  return await curl(s.clientNs, "--socks5-hostname", "127.0.0.1:17080", ...args);
}

/** HALF_CLOSE_CLIENT through -L 17001 (to the peer's echo): `mib` MiB each way. */
async function echoThroughL(s: Setup, mib: number, timeoutMs: number) {
  return await s.clientNs.run(
    ["/usr/bin/python3", "-c", HALF_CLOSE_CLIENT, "127.0.0.1", "17001", String(mib)],
    { allowFailure: true, timeoutMs },
  );
}

for (const rootless of [true, false]) {
  const who = rootless ? "rootless (uid 65534)" : "as root";
  Deno.test(`${who}: -L, --socks and --http-proxy reach the tunnel from host programs; names resolve in the cage; only WireGuard crosses the wire`, () =>
    inLab(rootless, async (s, config) => {
      const wgcage = await proxyCage(s, config, [
        "-L",
        "17001:10.99.0.1:7001",
        "-L",
        "127.0.0.1:17002:web.tunnel.test:8000",
        "-L",
        "17003:10.99.0.1:7002/udp",
        "-L",
        "17004:web.tunnel.test:7002/udp",
        "--socks",
        "17080",
        "--http-proxy",
        "17081",
        "--",
        "sleep",
        "120",
      ], rootless);
      const capture = await Capture.start(s.lab, s.clientNs, s.link.b.ifname);

      // socks5h: the name goes to the proxy and is resolved with the tunnel's DNS.
      const socks = await socksCurl(s, "http://web.tunnel.test:8000/page.txt");
      assert(socks.code === 0 && socks.stdout === PAGE, `curl through --socks: ${socks.stderr}`);
      await s.services.waitForDnsQuery((q) => q.name === "web.tunnel.test");

      // HTTP proxy: plain forwarding and CONNECT.
      const plain = await curl(
        s.clientNs,
        "-x",
        "http://127.0.0.1:17081",
        "http://web.tunnel.test:8000/page.txt",
      );
      assert(plain.code === 0 && plain.stdout === PAGE, `plain --http-proxy: ${plain.stderr}`);
      const tunnelled = await curl(
        s.clientNs,
        "-p",
        "-x",
        "http://127.0.0.1:17081",
        "http://web.tunnel.test:8000/page.txt",
      );
      assert(
        tunnelled.code === 0 && tunnelled.stdout === PAGE,
        `CONNECT through --http-proxy: ${tunnelled.stderr}`,
      );

      // -L to a name only the tunnel's DNS knows.
      const named = await curl(s.clientNs, "http://127.0.0.1:17002/page.txt");
      assert(named.code === 0 && named.stdout === PAGE, `-L to a name: ${named.stderr}`);
      // A client that shuts its side right after its request (before the
      // name is resolved): the request still goes, and so does the FIN.
      for (
        const [port, target] of [
          [17002, "/page.txt"],
          [17081, "http://web.tunnel.test:8000/page.txt"],
        ] as const
      ) {
        const r = await s.clientNs.run([
          "sh",
          "-c",
          `printf 'GET ${target} HTTP/1.0\\r\\n\\r\\n' | socat -t 10 - TCP:127.0.0.1:${port}`,
        ], { allowFailure: true, timeoutMs: 30_000 });
        assert(
          r.stdout.startsWith("HTTP/1.0 200") && r.stdout.endsWith(PAGE),
          `a half-closed request to port ${port}: ${JSON.stringify(r.stdout)} ${r.stderr}`,
        );
      }

      // -L TCP: 10 MiB each way, with the client's half-close.
      const bulk = await echoThroughL(s, 10, 120_000);
      assert(
        bulk.stdout.trim() === "same",
        `-L TCP, 10 MiB each way: ${bulk.stdout} ${bulk.stderr}`,
      );

      // -L UDP: a datagram to the peer's echo and back.
      const udp = await s.clientNs.run(
        ["sh", "-c", "echo datagram-through-L | socat -t 3 - UDP:127.0.0.1:17003"],
        { allowFailure: true, timeoutMs: 20_000 },
      );
      assert(udp.stdout.trim() === "datagram-through-L", `-L UDP: ${udp.stdout} ${udp.stderr}`);
      // -L UDP to a name: resolved in the cage once the relay runs.
      await waitForLog(
        wgcage,
        /-L 127\.0\.0\.1:17004:web\.tunnel\.test:7002\/udp: web\.tunnel\.test is 10\.99\.0\.1 in the cage/,
        "the UDP name",
      );
      const udpName = await s.clientNs.run(
        ["sh", "-c", "echo datagram-to-a-name | socat -t 3 - UDP:127.0.0.1:17004"],
        { allowFailure: true, timeoutMs: 20_000 },
      );
      assert(
        udpName.stdout.trim() === "datagram-to-a-name",
        `-L UDP to a name: ${udpName.stdout} ${udpName.stderr}`,
      );

      // A destination the tunnel does not route: a SOCKS error, no host connection.
      const outside = await socksCurl(s, "http://192.0.2.1:80/");
      assert(outside.code !== 0, `a destination outside AllowedIPs was reached: ${outside.stdout}`);
      await waitForLog(
        wgcage,
        /--socks: refused a client: cannot connect to IPv4 address, port 80 through the tunnel: network is unreachable/,
        "the refusal",
      );
      const outsideHttp = await curl(
        s.clientNs,
        "-x",
        "http://127.0.0.1:17081",
        "http://192.0.2.1/",
      );
      assert(
        outsideHttp.stdout.includes("through the tunnel: network is unreachable"),
        `--http-proxy to a destination outside AllowedIPs: ${outsideHttp.stdout}`,
      );
      // A name the tunnel's DNS does not know is refused by the proxy.
      const unknown = await socksCurl(s, "http://nowhere.tunnel.test/");
      assert(unknown.code !== 0, "an unknown name was reached");
      await waitForLog(
        wgcage,
        /cannot resolve nowhere\.tunnel\.test: no such name in the cage/,
        "the unknown name",
      );

      await assertStopsOnSigterm(wgcage);
      assertOnlyWireGuard(await capture.stop(), WG_PORT, "the capture saw nothing");
    }));
}

/** Raw bytes to a port; what came back before the close (or a reset). */
const RAW_CLIENT = `
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(bytes.fromhex(sys.argv[2]))
got = b""
try:
    while True:
        b = s.recv(4096)
        if not b: break
        got += b
except ConnectionResetError:
    pass
print(got.hex())
`;

Deno.test("the proxies refuse malformed and unsupported requests and bound half-open clients; the tunnel and the command keep working", () =>
  inLab(false, async (s, config) => {
    const wgcage = await proxyCage(s, config, [
      "--socks",
      "17080",
      "--http-proxy",
      "17081",
      "-L",
      "17001:10.99.0.1:7001",
      "--",
      "sh",
      "-c",
      "echo command-alive; sleep 120; echo command-still-alive",
    ]);
    const raw = async (hex: string, port = 17080) =>
      (await s.clientNs.run(["/usr/bin/python3", "-c", RAW_CLIENT, String(port), hex], {
        allowFailure: true,
      })).stdout.trim();
    // SOCKS4: closed without a reply.
    assert(await raw("04010050c0000201") === "", "a SOCKS4 greeting got an answer");
    await waitForLog(wgcage, /not a SOCKS5 greeting/, "the malformed greeting");
    // BIND: command not supported (07).
    assert(
      await raw("050100" + "05020001" + "0a630001" + "0050") === "0500" + "05070001000000000000",
      "BIND was not refused with 07",
    );
    // A 255-byte name of '#': host unreachable (04), no lookup.
    const huge = "23".repeat(255);
    assert(
      await raw("050100" + "050100" + "03ff" + huge + "0050") === "0500" + "05040001000000000000",
      "a huge name was not refused",
    );
    // The HTTP proxy: not an HTTP request, and a request for an origin
    // rather than through a proxy: 400 with the reason, and -v says it.
    const text = (hex: string) => new TextDecoder().decode(Uint8Array.fromHex(hex));
    const hello = text(
      await raw(
        new TextEncoder().encode("HELLO\r\n\r\n").toHex(),
        17081,
      ),
    );
    assert(
      hello.startsWith("HTTP/1.1 400 Bad Request\r\n") &&
        hello.includes("not an HTTP/1 request line"),
      `HELLO: ${hello}`,
    );
    const origin = text(
      await raw(
        new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n").toHex(),
        17081,
      ),
    );
    assert(
      origin.startsWith("HTTP/1.1 400") && origin.includes("without a proxy's absolute URL"),
      `GET /: ${origin}`,
    );
    await waitForLog(
      wgcage,
      /--http-proxy: refused a request: not an HTTP\/1 request line/,
      "the HTTP refusal",
    );
    // 300 clients that never speak: at most 256 wait, the rest are reset.
    const flood = s.clientNs.spawn([
      "/usr/bin/python3",
      "-c",
      "import socket,time\nss=[socket.create_connection(('127.0.0.1',17080)) for _ in range(300)]\nprint('open',flush=True)\ntime.sleep(30)",
    ]);
    await flood.waitForLine("open", 20_000);
    await waitForLog(wgcage, /--socks 127\.0\.0\.1:17080: 256 at once already/, "the limit");
    // Meanwhile the tunnel works: 1 MiB each way through -L.
    const during = await echoThroughL(s, 1, 60_000);
    assert(
      during.stdout.trim() === "same",
      `-L during the flood: ${during.stdout} ${during.stderr}`,
    );
    await flood.stop("SIGTERM", 5000);
    // The proxy still serves once the flood is gone.
    const socks = await socksCurl(s, "http://web.tunnel.test:8000/page.txt");
    assert(socks.code === 0 && socks.stdout === PAGE, `curl after the flood: ${socks.stderr}`);
    assert(
      wgcage.stdout.includes("command-alive") && !wgcage.stdout.includes("command-still-alive"),
      `the command: ${wgcage.stdout}`,
    );
    await assertStopsOnSigterm(wgcage);
  }));

/** SOCKS5 UDP ASSOCIATE, then one datagram to DST:PORT through it; prints JSON. */
const UDP_ASSOCIATE_CLIENT = `
import json, socket, struct, sys
port, dst, dport, text = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
t = socket.create_connection(("127.0.0.1", port), timeout=10)
t.sendall(b"\\x05\\x01\\x00")
assert t.recv(2) == b"\\x05\\x00"
t.sendall(b"\\x05\\x03\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00")
r = b""
while len(r) < 10: r += t.recv(10 - len(r))
bnd = (socket.inet_ntoa(r[4:8]), struct.unpack(">H", r[8:10])[0])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(1)
if dst.replace(".", "").isdigit():
    header = b"\\x00\\x00\\x00\\x01" + socket.inet_aton(dst) + struct.pack(">H", dport)
else:
    header = b"\\x00\\x00\\x00\\x03" + bytes([len(dst)]) + dst.encode() + struct.pack(">H", dport)
got = b""
for _ in range(4):
    u.sendto(header + text.encode(), bnd)
    try:
        got = u.recvfrom(65536)[0]
        break
    except socket.timeout:
        pass
print(json.dumps({"rep": r[1], "bnd": list(bnd), "header": got[:10].hex(), "text": got[10:].decode()}), flush=True)
t.close()
`;

Deno.test("--socks UDP ASSOCIATE: a datagram to an address or a name goes out through the tunnel and its answer comes back; unrouted ones are dropped; the association ends with its connection", () =>
  inLab(false, async (s, config) => {
    const wgcage = await proxyCage(s, config, [
      "--socks",
      "17080",
      "--",
      "sleep",
      "120",
    ]);
    const associate = async (dst: string, port: number, text: string) => {
      const r = await s.clientNs.run(
        ["/usr/bin/python3", "-c", UDP_ASSOCIATE_CLIENT, "17080", dst, String(port), text],
        { allowFailure: true, timeoutMs: 30_000 },
      );
      assert(r.code === 0, `the UDP ASSOCIATE client failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as {
        rep: number;
        bnd: [string, number];
        header: string;
        text: string;
      };
    };
    const echo = await associate("10.99.0.1", 7002, "datagram-through-socks");
    assert(
      echo.rep === 0 && echo.bnd[0] === "127.0.0.1",
      `ASSOCIATE's reply: ${JSON.stringify(echo)}`,
    );
    assert(
      echo.text === "datagram-through-socks" && echo.header === "000000010a6300011b5a",
      `the echo through the association: ${JSON.stringify(echo)}`,
    );
    // The association ended with its TCP connection: its UDP port is closed.
    for (let waited = 0;; waited += 100) {
      const ss = await s.clientNs.run(["ss", "-Huan", `sport = :${echo.bnd[1]}`], {
        allowFailure: true,
      });
      if (ss.stdout.trim() === "") break;
      assert(waited < 5000, `the association's UDP port stayed open: ${ss.stdout}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // A datagram to a name: resolved in the cage (the tunnel's DNS), then sent.
    const named = await associate("web.tunnel.test", 7002, "datagram-to-a-name");
    assert(
      named.text === "datagram-to-a-name" && named.header === "000000010a6300011b5a",
      `a datagram to a name through the association: ${JSON.stringify(named)}`,
    );
    await s.services.waitForDnsQuery((q) => q.name === "web.tunnel.test");
    const outside = await associate("192.0.2.1", 7002, "nowhere");
    assert(
      outside.rep === 0 && outside.text === "",
      `an unrouted datagram came back: ${JSON.stringify(outside)}`,
    );
    await waitForLog(
      wgcage,
      /a UDP ASSOCIATE client sent a datagram the tunnel does not route \(network is unreachable\)/,
      "the unrouted datagram",
    );
    await assertStopsOnSigterm(wgcage);
  }));

Deno.test("--socks-auth: the proxy serves a client with the login from the file and refuses one without it", () =>
  inLab(false, async (s, config) => {
    const login = `${await s.lab.tempDir()}/socks-login`;
    await Deno.writeTextFile(login, "alice:correct-horse\n", { mode: 0o600 });
    const wgcage = await proxyCage(s, config, [
      "--socks",
      "17080",
      "--socks-auth",
      login,
      "--",
      "sleep",
      "120",
    ]);
    const url = "http://web.tunnel.test:8000/page.txt";
    const ok = await socksCurl(s, "-U", "alice:correct-horse", url);
    assert(ok.code === 0 && ok.stdout === PAGE, `curl with the login: ${ok.stderr}`);
    const wrong = await socksCurl(s, "-U", "alice:wrong", url);
    assert(
      wrong.code !== 0 && wrong.stdout === "",
      `a wrong password got through: ${wrong.stdout}`,
    );
    const none = await socksCurl(s, url);
    assert(none.code !== 0 && none.stdout === "", `no login got through: ${none.stdout}`);
    await waitForLog(
      wgcage,
      /--socks: refused a client: a wrong username or password/,
      "the wrong login",
    );
    assert(
      !wgcage.stderr.includes("correct-horse"),
      `the password reached a message: ${wgcage.stderr}`,
    );
    await assertStopsOnSigterm(wgcage);
  }));

Deno.test("a port in use, a privileged port or malformed specs: one line, 125, before anything is made; beyond loopback: a warning", () =>
  inLab(false, async (s, config) => {
    // fork: the probe's connection does not end the listener.
    const taken = s.clientNs.spawn([
      "socat",
      "TCP-LISTEN:17080,bind=127.0.0.1,fork,reuseaddr",
      "OPEN:/dev/null",
    ]);
    s.lab.defer(() => taken.stop("SIGTERM", 5000).then(() => {}, () => {}));
    await waitForPort(s.clientNs, "127.0.0.1", 17080);
    const run = (...args: string[]) =>
      s.clientNs.run(wgcageArgv(["--config", config, ...args, "--", "true"]), {
        allowFailure: true,
        timeoutMs: 60_000,
      });
    for (
      const [args, pattern] of [
        [
          ["--socks", "127.0.0.1:17080"],
          /Cannot listen on 127\.0\.0\.1:17080\/tcp for --socks: the port is in use/,
        ],
        [
          ["-L", "17001:10.99.0.1"],
          /-L '17001:10\.99\.0\.1' is not valid: give HOST_PORT:TUNNEL_HOST:PORT/,
        ],
        [["-L", "17001:bad_name!:80"], /is neither an IP address nor a host name/],
        [["--http-proxy", "70000"], /port 70000 is out of range/],
        [
          ["--socks-auth", "/nonexistent"],
          /--socks-auth is the --socks proxy's login; give --socks/,
        ],
        [
          ["--socks", "17091", "--socks-auth", "/nonexistent"],
          /Cannot use --socks-auth '\/nonexistent': no such file/,
        ],
      ] as const
    ) {
      const r = await run(...args);
      assert(r.code === 125, `${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert(lines.length === 1 && pattern.test(lines[0]), `${args.join(" ")}: ${r.stderr}`);
    }
    // A privileged port without root: refused before anything is made.
    const nobodyConfig = await tunnelConfig(s, true);
    for (const option of ["--socks", "--http-proxy"]) {
      const low = await runWgcage(s.lab, {
        ns: s.clientNs,
        rootless: true,
        args: ["--config", nobodyConfig, option, "80", "--", "true"],
      });
      assert(low.code === 125, `${option} 80 as nobody: exit ${low.code}: ${low.stderr}`);
      assert(
        new RegExp(
          `^wgcage: Cannot listen on 127\\.0\\.0\\.1:80/tcp for ${option}: ports below \\d+ need root`,
        ).test(low.stderr) && low.stderr.trim().split("\n").length === 1,
        `${option} 80 as nobody: ${low.stderr}`,
      );
    }
    // Beyond loopback: it runs, with a warning naming who can use the tunnel.
    const open = await run("--socks", "0.0.0.0:17090");
    assert(open.code === 0, `--socks 0.0.0.0: exit ${open.code}: ${open.stderr}`);
    assert(
      /warning: --socks listens on 0\.0\.0\.0:17090, beyond loopback: anyone who can reach 0\.0\.0\.0:17090 can use your tunnel/
        .test(open.stderr),
      `no warning: ${open.stderr}`,
    );
  }));

Deno.test("a live cage ('wgcage up NAME -d --socks …', no command) serves host programs while a joined command runs", () =>
  inLab(false, async (s, config) => {
    const name = cageName("px");
    const wgcage = await upInClient(s, name, [
      "--config",
      config,
      "--socks",
      "17080",
      "-L",
      "17001:10.99.0.1:7001",
    ]);
    const joined = s.clientNs.spawn(
      wgcageArgv(["exec", name, "--", "sh", "-c", "echo joined; sleep 30"]),
    );
    await joined.waitForLine("joined", 30_000);
    const socks = await socksCurl(s, "http://web.tunnel.test:8000/page.txt");
    assert(
      socks.code === 0 && socks.stdout === PAGE,
      `curl through the live cage: ${socks.stderr}`,
    );
    const bulk = await echoThroughL(s, 1, 60_000);
    assert(bulk.stdout.trim() === "same", `-L of the live cage: ${bulk.stdout} ${bulk.stderr}`);
    await joined.stop("SIGTERM", 5000).catch(() => {});
    const down = await wgcage(["down", name]);
    assert(down.code === 0, `down exited ${down.code}: ${down.stderr}`);
  }));
