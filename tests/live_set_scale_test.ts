/**
 * A live cage takes a `set=1` of thousands of allowed IPs: 8,000 prefixes
 * for one peer are answered, all listed by `get=1` and routed in the cage,
 * while UDP echoes through the tunnel to a real wireguard-go peer keep
 * coming back; one prefix over the per-peer cap gets errno=-28 (ENOSPC) and
 * changes nothing.
 *
 *     test namespace (loopback only)
 *       wireguard-go A  10.94.0.1/24  udp 51820, UDP echo on 8082
 *       the keeper      cage 10.94.0.2, prefixes 10.100.0.0/16 added
 *
 * Needs root, wireguard-go, wg and socat.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { run } from "./harness/process.ts";
import { startServices } from "./harness/services.ts";
import { relayInNamespace } from "./harness/control_relay.ts";
import { wgcageArgv } from "./e2e/wgcage.ts";
import { livePeer } from "./harness/live.ts";
import { CAPS } from "../src/live/caps.ts";
import { assert } from "./cage/assert.ts";

/** One request on a new connection to the control socket; its reply up to the empty line. */
async function request(path: string, text: string): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    const bytes = new TextEncoder().encode(text);
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
    const decoder = new TextDecoder();
    const buf = new Uint8Array(65536);
    let reply = "";
    while (!reply.endsWith("\n\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      reply += decoder.decode(buf.subarray(0, n), { stream: true });
    }
    return reply;
  } finally {
    conn.close();
  }
}

/** `count` distinct /32s from 10.100.0.0 on, as `allowed_ip=` lines. */
function prefixLines(count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, j) => {
    const i = from + j;
    return `allowed_ip=10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;
  });
}

/** The `allowed_ip=` values of a `get=1` reply, sorted. */
function allowedIps(reply: string): string[] {
  return reply.split("\n").filter((l) => l.startsWith("allowed_ip=")).map((l) => l.slice(11))
    .sort();
}

/**
 * Runs in the cage: a UDP datagram to the echo service every 20 ms; prints
 * "flowing" at the first echo, and after 6 s more a JSON line: datagrams
 * sent, echoes back, the longest wait between two echoes, the wall time of
 * the last echo.
 */
const PROBE = `
import dgram from "node:dgram";
const s = dgram.createSocket("udp4");
let sent = 0, got = 0, last = 0, maxGap = 0, first = 0;
s.on("message", () => {
  const now = Date.now();
  if (got === 0) { first = now; console.log("flowing"); }
  else maxGap = Math.max(maxGap, now - last);
  got++; last = now;
});
s.connect(8082, "10.94.0.1", () => {
  const t = setInterval(() => {
    if (first !== 0 && Date.now() - first > 6000) {
      clearInterval(t);
      setTimeout(() => { s.close(); console.log(JSON.stringify({ sent, got, maxGap, last })); }, 1500);
      return;
    }
    s.send("x"); sent++;
  }, 20);
});
`;

Deno.test("live cage (root): set=1 with 8,000 allowed IPs is applied whole while echoes keep flowing; over the per-peer cap is errno=-28 and changes nothing", async () => {
  requireRoot("The live set test");
  await requireTool("wireguard-go", "wireguard-go");
  await requireTool("wg", "wireguard-tools");
  await requireTool("socat", "socat");
  const lab = await Lab.open();
  const name = cageName("ls");
  try {
    const { ns, a, config } = await livePeer(lab, "liveset", 0);
    await startServices(ns, { binds: ["10.94.0.1"] });
    const up = await run(wgcageArgv(["up", name, "-d", "--config", config]), {
      ns: ns.name,
      allowFailure: true,
      timeoutMs: 60_000,
    });
    assert(up.code === 0, `up -d: ${up.stderr}`);
    const path = await relayInNamespace(lab, ns, `/run/wgcage/${name}.sock`);
    const peerHex = Array.from(
      Uint8Array.fromBase64(a.keys.publicKey),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    const cageRoutes = async () => {
      const r = await run(wgcageArgv(["exec", name, "--", "ip", "-4", "route", "show"]), {
        ns: ns.name,
        allowFailure: true,
      });
      assert(r.code === 0, `ip route in the cage: ${r.stderr}`);
      return r.stdout.split("\n").filter((l) => l.startsWith("10.100.") || l.startsWith("10.101."));
    };
    try {
      const probe = ns.spawn(wgcageArgv([
        "exec",
        name,
        "--",
        Deno.execPath(),
        "eval",
        PROBE,
      ]));
      lab.defer(() => probe.stop());
      await probe.waitForLine("flowing", 30_000);

      const many = prefixLines(8000);
      const reply = await request(
        path,
        ["set=1", `public_key=${peerHex}`, ...many, "", ""].join("\n"),
      );
      const setDone = Date.now();
      assert(reply === "errno=0\n\n", `set=1 of 8,000: ${JSON.stringify(reply)}`);

      const status = await probe.status;
      const report = JSON.parse(probe.lines.at(-1) ?? "{}") as {
        sent: number;
        got: number;
        maxGap: number;
        last: number;
      };
      assert(status.code === 0 && report.sent > 0, `probe: ${probe.stdout} ${probe.stderr}`);
      // The tunnel went on: echoes came back after the set, nearly all of them.
      assert(report.last > setDone, `no echo after the set: ${JSON.stringify(report)}`);
      assert(report.got >= report.sent * 0.9, `echoes lost: ${JSON.stringify(report)}`);
      assert(report.maxGap < 3000, `the tunnel stalled: ${JSON.stringify(report)}`);

      const want = [...many.map((l) => l.slice(11)), "10.94.0.0/24"].sort();
      const got = await request(path, "get=1\n\n");
      assert(got.endsWith("errno=0\n\n"), got.slice(-200));
      const listed = allowedIps(got);
      assert(
        listed.length === want.length && listed.every((v, i) => v === want[i]),
        `get=1 lists ${listed.length} allowed IPs, want ${want.length}`,
      );
      const routes = await cageRoutes();
      assert(routes.length === 8000, `${routes.length} routes for the 8,000 prefixes`);

      // One over the per-peer cap (A has 10.94.0.0/24 and the 8,000): refused whole.
      const over = prefixLines(CAPS.allowedIpsPerPeer - 8001 + 1, 8000);
      const refused = await request(
        path,
        ["set=1", `public_key=${peerHex}`, "persistent_keepalive_interval=7", ...over, "", ""]
          .join("\n"),
      );
      assert(refused === "errno=-28\n\n", `over the cap: ${JSON.stringify(refused)}`);
      const after = await request(path, "get=1\n\n");
      const listedAfter = allowedIps(after);
      assert(
        listedAfter.length === want.length && listedAfter.every((v, i) => v === want[i]),
        `a refused set changed the allowed IPs: ${listedAfter.length}`,
      );
      assert(after.includes("persistent_keepalive_interval=0"), "a refused set changed keepalive");
      assert((await cageRoutes()).length === 8000, "a refused set changed the routes");

      // Exactly at the cap: applied.
      const fits = await request(
        path,
        ["set=1", `public_key=${peerHex}`, ...over.slice(1), "", ""].join("\n"),
      );
      assert(fits === "errno=0\n\n", `at the cap: ${JSON.stringify(fits)}`);
      const atCap = allowedIps(await request(path, "get=1\n\n"));
      assert(atCap.length === CAPS.allowedIpsPerPeer, `${atCap.length} at the cap`);
    } finally {
      await run(wgcageArgv(["down", name]), { ns: ns.name, allowFailure: true });
    }
  } finally {
    await lab.close();
  }
});
