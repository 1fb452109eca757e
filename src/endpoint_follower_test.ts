import { deepStrictEqual, strictEqual } from "node:assert";
import type { ResolvedEndpoint } from "./config/endpoint.ts";
import { formatEndpoint } from "./config/endpoint.ts";
import {
  EndpointFollower,
  REKEY_ATTEMPT_TIME_MS,
  REKEY_TIMEOUT_MS,
  RERESOLVE_AFTER_MS,
  RERESOLVE_EVERY_MS,
} from "./endpoint_follower.ts";

const SPEC = { host: "vpn.example.test", port: 51820 };

function v4(last: number): ResolvedEndpoint {
  return { family: 4, port: 51820, scopeId: 0, address: new Uint8Array([192, 0, 2, last]) };
}

function v6(last: number): ResolvedEndpoint {
  const address = new Uint8Array(16);
  address.set([0x20, 0x01, 0x0d, 0xb8]);
  address[15] = last;
  return { family: 6, port: 51820, scopeId: 0, address };
}

/** A tunnel as the follower sees it: a clock, a resolver, one peer's endpoint. */
function fakeHost(answers: (ResolvedEndpoint[] | Error)[], start: ResolvedEndpoint) {
  const state = {
    now: 0,
    current: start as ResolvedEndpoint | undefined,
    lookups: 0,
    moves: [] as { to: string; initiate: boolean }[],
    wakes: 0,
    lines: [] as string[],
  };
  const follower = new EndpointFollower({
    now: () => state.now,
    lookup: () => {
      state.lookups++;
      const answer = answers.shift() ?? new Error("no more answers");
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    current: () => state.current,
    move: (_peer, to, initiate) => {
      state.current = to;
      state.moves.push({ to: formatEndpoint(to), initiate });
    },
    wake: () => state.wakes++,
    log: (line) => state.lines.push(line),
  });
  return { follower, state };
}

/** Lets a lookup's promise settle. */
const settle = () => new Promise((r) => setTimeout(r, 0));

/** The core's attempts: a first initiation, then a retry every REKEY_TIMEOUT. */
function failFor(f: EndpointFollower, state: { now: number }, retries: number): void {
  f.handshakeSent(1, false);
  for (let i = 0; i < retries; i++) {
    state.now += REKEY_TIMEOUT_MS;
    f.handshakeSent(1, true);
  }
}

Deno.test("a name with one address is looked up again once handshakes failed for RERESOLVE_AFTER_MS, and the new address is tried at once", async () => {
  const { follower, state } = fakeHost([[v4(9)]], v4(1));
  follower.follow(1, "peer A", SPEC, [v4(1)]);
  state.now = 60_000;
  failFor(follower, state, 1);
  strictEqual(state.lookups, 0, "one unanswered REKEY_TIMEOUT is not enough");
  state.now += REKEY_TIMEOUT_MS;
  follower.handshakeSent(1, true);
  strictEqual(state.lookups, 1);
  strictEqual(RERESOLVE_AFTER_MS, 2 * REKEY_TIMEOUT_MS);
  await settle();
  strictEqual(state.wakes, 1, "a finished lookup wakes the data path");
  deepStrictEqual(state.moves, [], "nothing changes outside the data path's turn");
  follower.applyPending();
  deepStrictEqual(state.moves, [{ to: "192.0.2.9:51820", initiate: true }]);
  strictEqual(
    state.lines.at(-1),
    "peer A: vpn.example.test:51820 now resolves to 192.0.2.9:51820; trying 192.0.2.9:51820",
  );
});

Deno.test("a forgotten peer's id is followed no more: a reused id never moves to the old peer's name", async () => {
  const { follower, state } = fakeHost([[v4(9)]], v4(1));
  follower.follow(1, "peer A", SPEC, [v4(1), v4(2)]);
  state.now = 60_000;
  follower.handshakeSent(1, false);
  state.now += REKEY_TIMEOUT_MS;
  follower.forget(1);
  strictEqual(follower.following, false);
  failFor(follower, state, 3);
  await settle();
  follower.applyPending();
  strictEqual(state.lookups, 0);
  deepStrictEqual(state.moves, []);
});

Deno.test("lookups of one name are at least RERESOLVE_EVERY_MS apart, and an unchanged answer moves nothing", async () => {
  const { follower, state } = fakeHost([[v4(1)], [v4(1)], [v4(1)]], v4(1));
  follower.follow(1, "peer A", SPEC, [v4(1)]);
  state.now = 60_000;
  failFor(follower, state, 2);
  strictEqual(state.lookups, 1);
  await settle();
  follower.applyPending();
  deepStrictEqual(state.moves, []);
  strictEqual(
    state.lines.at(-1),
    "peer A: vpn.example.test:51820 still resolves to 192.0.2.1:51820; waiting",
  );
  // Retries closer together than RERESOLVE_EVERY_MS (a forced initiation
  // restarts the series) do not look up again.
  state.now += RERESOLVE_EVERY_MS - 1;
  follower.handshakeSent(1, true);
  strictEqual(state.lookups, 1);
  state.now += 1;
  follower.handshakeSent(1, true);
  strictEqual(state.lookups, 2);
});

Deno.test("a name with several addresses tries the next one at each unanswered retry, v6 and v4 alike", async () => {
  const { follower, state } = fakeHost([[v6(1), v4(1), v4(2)]], v6(1));
  follower.follow(1, "peer A", SPEC, [v6(1), v4(1), v4(2)]);
  state.now = 60_000;
  failFor(follower, state, 1);
  deepStrictEqual(state.moves.map((m) => m.to), ["192.0.2.1:51820"]);
  failFor(follower, state, 1); // the failure goes on: this retry looks the name up
  strictEqual(state.lookups, 1);
  await settle();
  follower.applyPending();
  deepStrictEqual(state.moves.map((m) => m.to), ["192.0.2.1:51820", "192.0.2.2:51820"]);
  state.now += RERESOLVE_EVERY_MS - 1; // too soon to look up: the next known address
  follower.handshakeSent(1, true);
  deepStrictEqual(state.moves.map((m) => m.to).at(-1), "[2001:db8::1]:51820");
});

Deno.test("a completed handshake ends the failure: a late answer is dropped, the next failure starts afresh", async () => {
  const { follower, state } = fakeHost([[v4(7)]], v4(1));
  follower.follow(1, "peer A", SPEC, [v4(1)]);
  state.now = 60_000;
  failFor(follower, state, 2);
  strictEqual(state.lookups, 1);
  follower.sessionStarted(1);
  await settle();
  follower.applyPending();
  deepStrictEqual(state.moves, []);
  state.now += 60_000;
  failFor(follower, state, 1);
  strictEqual(state.lookups, 1, "a new failure waits RERESOLVE_AFTER_MS again");
});

Deno.test("a failed lookup is logged and tried again later", async () => {
  const { follower, state } = fakeHost([
    new Error("wgcage: Cannot resolve endpoint 'x': no such host"),
    [v4(3)],
  ], v4(1));
  follower.follow(1, "peer A", SPEC, [v4(1)]);
  state.now = 60_000;
  failFor(follower, state, 2);
  await settle();
  strictEqual(
    state.lines.at(-1),
    "peer A: Cannot resolve endpoint 'x': no such host; trying again later",
  );
  follower.applyPending();
  deepStrictEqual(state.moves, []);
  state.now += RERESOLVE_EVERY_MS;
  follower.handshakeSent(1, true);
  await settle();
  follower.applyPending();
  deepStrictEqual(state.moves, [{ to: "192.0.2.3:51820", initiate: true }]);
});

Deno.test("after REKEY_ATTEMPT_TIME a new address is set without forcing a handshake: the core's give-up holds", async () => {
  const { follower, state } = fakeHost([[v4(5)]], v4(1));
  follower.follow(1, "peer A", SPEC, [v4(1)]);
  state.now = 60_000;
  follower.handshakeSent(1, false);
  state.now += REKEY_ATTEMPT_TIME_MS;
  follower.handshakeSent(1, true);
  await settle();
  follower.applyPending();
  deepStrictEqual(state.moves, [{ to: "192.0.2.5:51820", initiate: false }]);
});

Deno.test("peers that are not followed (IP literals) are left alone", () => {
  const { follower, state } = fakeHost([], v4(1));
  strictEqual(follower.following, false);
  failFor(follower, state, 5);
  strictEqual(state.lookups, 0);
});
