import { deepStrictEqual, strictEqual } from "node:assert";
import { FIRST_STAGE, parseSocks, replyForErrno, socksReply, type SocksStage } from "./socks.ts";

const b = (...bytes: number[]) => new Uint8Array(bytes);
const login = {
  username: new TextEncoder().encode("alice"),
  password: new TextEncoder().encode("s3cret"),
};

/** Runs the handshake over `bytes` as the session does; returns the replies and the last step. */
function drive(bytes: Uint8Array, credentials = undefined as typeof login | undefined) {
  let stage: SocksStage = FIRST_STAGE;
  const replies: number[][] = [];
  for (;;) {
    const step = parseSocks(bytes, stage, credentials);
    if (step.kind !== "answer") return { replies, step };
    replies.push([...step.reply]);
    stage = step.stage;
  }
}

Deno.test("a greeting and a CONNECT to an IPv4 address, in one piece or byte by byte", () => {
  const all = b(5, 1, 0, 5, 1, 0, 1, 10, 99, 0, 1, 0x1f, 0x40, 0xaa);
  const { replies, step } = drive(all);
  deepStrictEqual(replies, [[5, 0]]);
  strictEqual(step.kind, "connect");
  if (step.kind !== "connect") return;
  deepStrictEqual(step.target, { kind: "address", address: { family: 4, bytes: b(10, 99, 0, 1) } });
  strictEqual(step.port, 8000);
  strictEqual(step.consumed, all.length - 1, "the byte after the request is the target's");
  for (let cut = 0; cut < all.length - 1; cut++) {
    const partial = drive(all.subarray(0, cut)).step;
    strictEqual(partial.kind, "more", `cut at ${cut}`);
  }
});

Deno.test("a name goes to the cage's resolver as it is; IPv6 as 16 bytes", () => {
  const name = new TextEncoder().encode("Web.Tunnel.Test");
  const { step } = drive(b(5, 1, 0, 5, 1, 0, 3, name.length, ...name, 0, 80));
  deepStrictEqual(step, {
    kind: "connect",
    target: { kind: "name", name: "web.tunnel.test" },
    port: 80,
    consumed: 3 + 7 + name.length,
  });
  const v6 = drive(b(5, 1, 0, 5, 1, 0, 4, ...new Array(15).fill(0), 1, 1, 187)).step;
  strictEqual(v6.kind === "connect" && v6.target.kind === "address" && v6.target.address.family, 6);
});

Deno.test("malformed and unsupported requests are refused with the RFC's codes", () => {
  strictEqual(drive(b(4, 1, 0, 80, 10, 0, 0, 1, 0)).step.kind, "refuse");
  deepStrictEqual(drive(b(5, 1, 2)).step, {
    kind: "refuse",
    reply: b(5, 0xff),
    why: "the client offered no method without authentication",
  });
  const bind = drive(b(5, 1, 0, 5, 2, 0, 1, 10, 0, 0, 1, 0, 80)).step;
  deepStrictEqual(bind.kind === "refuse" && bind.reply, socksReply(7));
  const atyp = drive(b(5, 1, 0, 5, 1, 0, 9, 0, 0)).step;
  deepStrictEqual(atyp.kind === "refuse" && atyp.reply, socksReply(8));
  const huge = drive(b(5, 1, 0, 5, 1, 0, 3, 255, ...new Array(255).fill(0x61), 0, 80)).step;
  deepStrictEqual(huge.kind === "refuse" && huge.reply, socksReply(4));
  const junk = drive(b(5, 1, 0, 5, 1, 0, 3, 3, 0x61, 0x00, 0x62, 0, 80)).step;
  deepStrictEqual(junk.kind === "refuse" && junk.reply, socksReply(4));
});

Deno.test("with a login: only username/password is offered, and a wrong one is refused", () => {
  const user = [...login.username];
  const pass = [...login.password];
  const ok = drive(
    b(5, 2, 0, 2, 1, user.length, ...user, pass.length, ...pass, 5, 1, 0, 1, 10, 0, 0, 1, 0, 80),
    login,
  );
  deepStrictEqual(ok.replies, [[5, 2], [1, 0]]);
  strictEqual(ok.step.kind, "connect");
  const wrong = drive(b(5, 1, 2, 1, user.length, ...user, 1, 0x78), login);
  deepStrictEqual(wrong.step.kind === "refuse" && wrong.step.reply, b(1, 1));
  const none = drive(b(5, 1, 0), login).step;
  deepStrictEqual(none.kind === "refuse" && none.reply, b(5, 0xff));
});

Deno.test("UDP ASSOCIATE names the client's UDP port (0: any) for the relay", () => {
  deepStrictEqual(drive(b(5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0)).step, {
    kind: "associate",
    port: 0,
  });
  deepStrictEqual(drive(b(5, 1, 0, 5, 3, 0, 1, 127, 0, 0, 1, 0x30, 0x39)).step, {
    kind: "associate",
    port: 12345,
  });
});

Deno.test("a failed connection's errno becomes the matching reply", () => {
  strictEqual(replyForErrno(101), 3);
  strictEqual(replyForErrno(113), 4);
  strictEqual(replyForErrno(111), 5);
  strictEqual(replyForErrno(1), 1);
});
