import { strictEqual } from "node:assert";
import {
  HandshakeDiagnosis,
  handshakeFailureMessage,
  type HandshakeTarget,
  PROBE_AFTER_MS,
} from "./handshake_diagnosis.ts";

const ECONNREFUSED = 111;
const EHOSTUNREACH = 113;

function target(port: number): HandshakeTarget {
  return {
    label: `127.0.0.1:${port} (peer AbCd…)`,
    endpoint: { family: 4, port, scopeId: 0, address: new Uint8Array([127, 0, 0, 1]) },
  };
}

Deno.test("HandshakeDiagnosis probes once, after PROBE_AFTER_MS, and ends the wait when every endpoint refused", async () => {
  const probed: number[] = [];
  const d = new HandshakeDiagnosis({
    targets: [target(1), target(2)],
    probe: (ep) => {
      probed.push(ep.port);
      return Promise.resolve(ECONNREFUSED);
    },
    drops: () => ({}),
    now: 1000,
  });
  let refused = 0;
  d.tick(1000 + PROBE_AFTER_MS - 1, () => refused++);
  strictEqual(probed.length, 0);
  d.tick(1000 + PROBE_AFTER_MS, () => refused++);
  d.tick(1000 + PROBE_AFTER_MS + 500, () => refused++);
  await new Promise((r) => setTimeout(r, 0));
  strictEqual(probed.join(","), "1,2");
  strictEqual(refused, 1);
  strictEqual(d.findings().icmp.join(","), "111,111");
});

Deno.test("HandshakeDiagnosis: one endpoint silent is no early end; a failed probe counts as silent", async () => {
  const d = new HandshakeDiagnosis({
    targets: [target(1), target(2)],
    probe: (ep) => ep.port === 1 ? Promise.resolve(ECONNREFUSED) : Promise.reject(new Error("x")),
    drops: () => ({ handshake_failed: 2, bad_mac1: 1, replay: 9 }),
    now: 0,
  });
  let refused = 0;
  d.tick(PROBE_AFTER_MS, () => refused++);
  await new Promise((r) => setTimeout(r, 0));
  strictEqual(refused, 0);
  strictEqual(d.findings().unauthenticated, 3);
});

Deno.test("handshakeFailureMessage tells port unreachable, did not authenticate and no answer apart", () => {
  const one = [target(51820)];
  const refused = handshakeFailureMessage(
    { targets: one, icmp: [ECONNREFUSED], unauthenticated: 0 },
    undefined,
    "K=",
  );
  strictEqual(
    refused,
    "No handshake with 127.0.0.1:51820 (peer AbCd…): port unreachable (ICMP): nothing listens on UDP port 51820 there; check the Endpoint's port and that the peer's WireGuard is up",
  );
  const auth = handshakeFailureMessage({ targets: one, icmp: [0], unauthenticated: 2 }, 10, "K=");
  strictEqual(
    auth.includes("within 10 s: the peer answered, but its handshake did not authenticate"),
    true,
    auth,
  );
  strictEqual(auth.includes("PresharedKey") && auth.includes("K="), true, auth);
  const silent = handshakeFailureMessage({ targets: one, icmp: [0], unauthenticated: 0 }, 10, "K=");
  strictEqual(
    silent.startsWith("No handshake with 127.0.0.1:51820 (peer AbCd…) within 10 s: no answer; "),
    true,
    silent,
  );
  strictEqual(silent.endsWith("(ours is K=); wait longer with --handshake-timeout"), true, silent);
  // One of two refused, another host unreachable: no answer overall, each noted.
  const mixed = handshakeFailureMessage(
    { targets: [target(1), target(2)], icmp: [ECONNREFUSED, EHOSTUNREACH], unauthenticated: 0 },
    10,
    "K=",
  );
  strictEqual(
    mixed.includes(
      "no answer (127.0.0.1:1 (peer AbCd…): port unreachable (ICMP); 127.0.0.1:2 (peer AbCd…): no route to host (ICMP))",
    ),
    true,
    mixed,
  );
});
