import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import {
  CageResolver,
  isOwnAddress,
  leadsIntoTheCage,
  resolvConfServers,
} from "./cage_resolver.ts";
import { buildResponse, parseQuery, Rcode } from "../../tests/services/dns_message.ts";
import type { LauncherSymbols } from "../launcher/library.ts";
import type { Steering } from "./steering.ts";

/** A DNS server behind fake cage sockets: answers `table`, NXDOMAIN else, after `delayMs`. */
function fakeCage(table: Record<string, number[]>, delayMs: number) {
  let inFlight = 0;
  let most = 0;
  const closed: number[] = [];
  let nextFd = 100;
  const ffi = {
    wgl_forward_exchange: async (
      _fd: number,
      _family: number,
      _addr: Uint8Array,
      port: number,
      query: Uint8Array,
      qlen: number,
      out: Uint8Array,
    ) => {
      strictEqual(port, 53);
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, delayMs));
      inFlight--;
      const q = parseQuery(query.subarray(0, qlen));
      const name = q.questions[0].name;
      const v4 = table[name];
      const reply = v4 === undefined
        ? buildResponse(q, Rcode.NxDomain, [])
        : buildResponse(q, Rcode.NoError, q.questions[0].type === 1 ? [new Uint8Array(v4)] : []);
      out.set(reply);
      return reply.length;
    },
    wgl_fd_close: (fd: number) => {
      closed.push(fd);
      return 0;
    },
  } as unknown as LauncherSymbols;
  const steering = { cageSocket: () => Promise.resolve(nextFd++) } as unknown as Steering;
  return { ffi, steering, closed, most: () => most };
}

const SERVER = [{ family: 4 as const, bytes: new Uint8Array([10, 99, 0, 1]) }];

Deno.test("a name is resolved by the cage's DNS server; each query's socket is closed", async () => {
  const cage = fakeCage({ "web.tunnel.test": [10, 99, 0, 7] }, 1);
  const r = new CageResolver(cage.ffi, cage.steering, SERVER);
  deepStrictEqual(await r.resolve("web.tunnel.test"), [
    { family: 4, bytes: new Uint8Array([10, 99, 0, 7]) },
  ]);
  deepStrictEqual(cage.closed, [100]);
  await rejects(r.resolve("nowhere.test"), /nowhere\.test: no such name/);
  await rejects(
    new CageResolver(cage.ffi, cage.steering, []).resolve("web.tunnel.test"),
    /the cage has no DNS server; give one with DNS = in the config/,
  );
});

Deno.test("at most 16 queries are in flight; the rest wait their turn", async () => {
  const cage = fakeCage({ "web.tunnel.test": [10, 99, 0, 7] }, 20);
  const r = new CageResolver(cage.ffi, cage.steering, SERVER);
  const all = await Promise.all(Array.from({ length: 40 }, () => r.resolve("web.tunnel.test")));
  strictEqual(all.length, 40);
  strictEqual(cage.most(), 16);
});

Deno.test("resolv.conf's nameserver lines, addresses only", () => {
  deepStrictEqual(
    resolvConfServers(
      "# x\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\nnameserver bogus\nsearch a\n",
    )
      .map((a) => a.family),
    [4, 6],
  );
});

Deno.test("resolv.conf's loopback resolvers are left out: in the cage that loopback is the command's", () => {
  // The cage's resolv.conf comments them out (src/dns/resolv_conf.ts); asked
  // from the cage, 127.0.0.53 would be whatever the command binds there.
  deepStrictEqual(
    resolvConfServers(
      "nameserver 127.0.0.53\nnameserver ::1\nnameserver ::ffff:127.0.0.1\nnameserver 10.0.0.1\n",
    ),
    [{ family: 4, bytes: new Uint8Array([10, 0, 0, 1]) }],
  );
});

Deno.test("a name that resolves only to the cage's own loopback is refused (DNS rebinding)", async () => {
  const cage = fakeCage({ "evil.test": [127, 0, 0, 1], "zero.test": [0, 0, 0, 0] }, 1);
  const r = new CageResolver(cage.ffi, cage.steering, SERVER);
  await rejects(
    r.resolve("evil.test"),
    /evil\.test: it resolves only to a loopback or unspecified address/,
  );
  await rejects(r.resolve("zero.test"), /only to a loopback or unspecified address/);
  strictEqual(
    leadsIntoTheCage({ family: 6, bytes: new Uint8Array([...Array(15).fill(0), 1]) }),
    true,
  );
  strictEqual(
    leadsIntoTheCage({
      family: 6,
      bytes: new Uint8Array([...Array(10).fill(0), 255, 255, 127, 0, 0, 1]),
    }),
    true,
  );
  strictEqual(leadsIntoTheCage({ family: 4, bytes: new Uint8Array([10, 99, 0, 1]) }), false);
});

Deno.test("a name that resolves only to the cage's own tunnel address is refused, as its loopback is", async () => {
  const own = [{ family: 4 as const, bytes: new Uint8Array([10, 99, 0, 2]) }];
  const cage = fakeCage({ "self.test": [10, 99, 0, 2], "mixed.test": [10, 99, 0, 2] }, 1);
  const r = new CageResolver(cage.ffi, cage.steering, SERVER, own);
  await rejects(
    r.resolve("self.test"),
    /self\.test: it resolves only to a loopback or unspecified address or to the cage's own/,
  );
  // Without the cage's addresses (the code before), the answer went through.
  deepStrictEqual(
    await new CageResolver(cage.ffi, cage.steering, SERVER).resolve("self.test"),
    own,
  );
  const mapped = new Uint8Array([...Array(10).fill(0), 0xff, 0xff, 10, 99, 0, 2]);
  strictEqual(isOwnAddress({ family: 6, bytes: mapped }, own), true);
  strictEqual(isOwnAddress({ family: 4, bytes: new Uint8Array([10, 99, 0, 3]) }, own), false);
});
