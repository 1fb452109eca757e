import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";
import { report, reported } from "./wgcage.ts";
import { parseArgs } from "./cli/args.ts";
import { parseWgQuick } from "./config/wg_quick.ts";
import { parseCidr } from "./config/cidr.ts";
import { cageFailure, type FailureContext } from "./cage/failure.ts";
import { Stage } from "./cage/stage.ts";
import { configureLinks } from "./netlink/configure.ts";
import { UdpSocket } from "./datapath/udp_socket.ts";
import { WgDevice } from "./wg/device.ts";
import { TunnelError } from "./tunnel_error.ts";
import { EACCES, ENOENT } from "./launcher/errno.ts";
import { ReplayTransport } from "../testdata/netlink/fake_transport.ts";
import { MISSING_LINK_CONVERSATION } from "../testdata/netlink/kernel_replies.ts";

/** What main prints and returns for whatever `action` throws. */
async function throughMain(action: () => unknown): Promise<{ status: number; lines: string[] }> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(...args.join(" ").split("\n"));
  try {
    const status = await reported(async () => {
      await action();
      throw new Error("expected the action to throw");
    });
    return { status, lines };
  } finally {
    console.error = original;
  }
}

const CTX: FailureContext = { command: "curl", tunName: "wg0", mode: "userns" };

/** Each kind of wgcage's own error, made where the program makes it. */
const OWN: { kind: string; status: number; line: RegExp; action: () => unknown }[] = [
  {
    kind: "UsageError",
    status: 125,
    line: /^wgcage: Unknown option '--no-such-option'/,
    action: () => parseArgs(["--no-such-option", "--", "true"]),
  },
  {
    kind: "ConfigError",
    status: 125,
    line: /^wgcage: wg\.conf: No \[Interface\] section/,
    action: () => parseWgQuick("", "wg.conf"),
  },
  {
    kind: "CageError (refused)",
    status: 125,
    line: /^wgcage: Cannot open \/dev\/net\/tun: permission denied/,
    action: () => {
      throw cageFailure(Stage.TunOpen, EACCES, CTX, {});
    },
  },
  {
    kind: "CageError (command not found)",
    status: 127,
    line: /^wgcage: Cannot run 'curl': command not found$/,
    action: () => {
      throw cageFailure(Stage.Exec, ENOENT, CTX, {});
    },
  },
  {
    kind: "NetlinkError",
    status: 125,
    line: /^wgcage: Cannot find link nope0: No such device \(ENODEV\); /,
    action: () =>
      configureLinks(new ReplayTransport(MISSING_LINK_CONVERSATION.map(Uint8Array.fromHex)), {
        tunName: "nope0",
        mtu: 1420,
        addresses: [parseCidr("10.99.0.2/32")],
        routes: [],
      }),
  },
  {
    kind: "WgCoreError (the configuration's)",
    status: 125,
    line:
      /^wgcage: Cannot add peer: a peer with this public key already exists; list each peer once/,
    action: async () => {
      const device = await WgDevice.create();
      try {
        device.setPrivateKey(new Uint8Array(32).fill(1));
        const peer = { publicKey: new Uint8Array(32).fill(2), keepalive: 0, allowedIps: [] };
        device.addPeer(peer);
        device.addPeer(peer);
      } finally {
        device.close();
      }
    },
  },
  {
    kind: "LauncherError",
    status: 125,
    line: /^wgcage: Cannot listen on UDP port \d+: it is in use; choose another ListenPort/,
    action: async () => {
      const first = await UdpSocket.open(0);
      try {
        (await UdpSocket.open(first.port)).close();
      } finally {
        first.close();
      }
    },
  },
  {
    kind: "TunnelError",
    status: 125,
    line: /^wgcage: The data path stopped before a handshake completed$/,
    action: () => {
      throw new TunnelError("The data path stopped before a handshake completed");
    },
  },
];

for (const { kind, status, line, action } of OWN) {
  Deno.test(`main reports a ${kind} as wgcage's own: one line with the fix, status ${status}`, async () => {
    const out = await throughMain(action);
    strictEqual(out.status, status);
    strictEqual(out.lines.length, 1, out.lines.join("\n"));
    match(out.lines[0], line);
    ok(!out.lines[0].includes("Internal error"), out.lines[0]);
  });
}

/** Errors that only a bug in wgcage can cause. */
const INTERNAL: { kind: string; detail: RegExp; action: () => unknown }[] = [
  {
    kind: "WgCoreError (a bug)",
    detail: /Cannot remove peer: no such peer \(NoSuchPeer\)/,
    action: async () => {
      const device = await WgDevice.create();
      try {
        device.removePeer(99);
      } finally {
        device.close();
      }
    },
  },
  {
    kind: "TypeError",
    detail: /Cannot start the cage: a cage setting contains a NUL byte/,
    action: () => {
      throw new TypeError("Cannot start the cage: a cage setting contains a NUL byte");
    },
  },
  {
    kind: "thrown string",
    detail: /something odd/,
    action: () => {
      throw "something odd";
    },
  },
];

for (const { kind, detail, action } of INTERNAL) {
  Deno.test(`main reports a ${kind} as an internal error to report, status 125`, async () => {
    const out = await throughMain(action);
    strictEqual(out.status, 125);
    strictEqual(out.lines.length, 1, out.lines.join("\n"));
    match(out.lines[0], /^wgcage: Internal error: /);
    match(out.lines[0], detail);
    match(out.lines[0], /; please report it with the command line you ran$/);
  });
}

Deno.test("main's seam returns the status of an action that does not throw", async () => {
  deepStrictEqual(await reported(() => 3), 3);
  deepStrictEqual(await reported(() => Promise.resolve(0)), 0);
});

Deno.test("an own error's message without the wgcage: prefix gets it once", () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    const own = Object.assign(new Error("Cannot x: y; do z"), { exitCode: 125 });
    strictEqual(report(own), 125);
    strictEqual(report(Object.assign(new Error("wgcage: Cannot x"), { exitCode: 125 })), 125);
  } finally {
    console.error = original;
  }
  deepStrictEqual(lines, ["wgcage: Cannot x: y; do z", "wgcage: Cannot x"]);
});
