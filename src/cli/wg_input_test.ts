import { ok } from "node:assert/strict";
import { checkSetArgs } from "./wg_input.ts";
import { wgFailure } from "./wg_command.ts";

// A private key (of no device), as `wg genkey` prints one.
const KEY = "WEZAHJNyb7RcH5ZmrB/IY18mex1NKwgcHHr7c5mlvXY=";
const PEER = "olLnnK3VKDsS9LZdGVeY8CP7A0Hy1etOYgELnGTcAj4=";

Deno.test("checkSetArgs: a key typed where wg expects something else is redacted from wg's refusal", async () => {
  // What wg 1.0.20210914 prints for each (its text, quoting the argument).
  const cases: [string[], string][] = [
    [["peer", PEER, "endpoint", KEY], `Unable to find port of endpoint: \`${KEY}'`],
    [["peer", PEER, "allowed-ips", KEY], `Unable to parse IP address: \`${KEY.slice(0, 18)}'`],
    [["fwmark", KEY], `Fwmark is neither 0/off nor 0-0xffffffff: \`${KEY}'`],
    [["listen-port", KEY], `Servname not supported for ai_socktype: \`${KEY}'`],
  ];
  for (const [args, said] of cases) {
    const input = await checkSetArgs(args);
    const line = wgFailure("set", "ci", `${said}\n`, input.guard);
    ok(!line.includes(KEY.slice(0, 18)), line);
    ok(line.includes("<redacted>"), line);
  }
});
