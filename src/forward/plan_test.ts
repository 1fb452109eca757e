import { deepStrictEqual, strictEqual } from "node:assert";
import { type ForwardOptions, forwardPlanOf, openListenerWarnings } from "./plan.ts";
import type { TunnelConfig } from "../config/types.ts";
import { parseListen, parseLocalForward } from "./spec.ts";

Deno.test("listening beyond loopback is warned about, naming who can then use the tunnel", () => {
  deepStrictEqual(
    openListenerWarnings({
      socks: parseListen("1080"),
      localForwards: [parseLocalForward("5432:db:5432")],
    }),
    [],
  );
  const lines = openListenerWarnings({
    socks: parseListen("0.0.0.0:1080"),
    httpProxy: parseListen("[::]:8118"),
    localForwards: [parseLocalForward("192.168.1.2:5432:db:5432")],
  });
  strictEqual(lines.length, 3);
  strictEqual(
    lines[0],
    "wgcage: warning: -L 192.168.1.2:5432:db:5432/tcp listens beyond loopback: anyone who can reach 192.168.1.2:5432 reaches db:5432 through your tunnel; use 127.0.0.1 unless that is meant",
  );
  strictEqual(
    lines[1],
    "wgcage: warning: --socks listens on 0.0.0.0:1080, beyond loopback: anyone who can reach 0.0.0.0:1080 can use your tunnel, to every address it routes; use 127.0.0.1 unless that is meant",
  );
  strictEqual(lines[2].startsWith("wgcage: warning: --http-proxy listens on [::]:8118"), true);
});

Deno.test("the plan carries the cage's tunnel addresses, for the resolver to refuse", () => {
  const config = {
    iface: {
      addresses: [{ family: 4, address: new Uint8Array([10, 99, 0, 2]), prefix: 24 }],
      dnsServers: ["10.99.0.1"],
    },
  } as unknown as TunnelConfig;
  const plan = forwardPlanOf({ socks: parseListen("1080") } as ForwardOptions, config);
  deepStrictEqual(plan?.cageAddresses, [{ family: 4, bytes: new Uint8Array([10, 99, 0, 2]) }]);
});
