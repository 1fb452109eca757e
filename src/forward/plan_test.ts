import { deepStrictEqual, strictEqual } from "node:assert";
import { openListenerWarnings } from "./plan.ts";
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
