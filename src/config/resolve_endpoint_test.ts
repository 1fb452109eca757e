import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import { hostResolver, resolveEndpoint, type ResolverIo } from "./resolve_endpoint.ts";
import { ConfigError } from "./config_error.ts";
import { formatEndpoint } from "./endpoint.ts";

Deno.test("resolveEndpoint takes IP literals as they are", async () => {
  deepStrictEqual(await resolveEndpoint({ host: "127.0.0.1", port: 51820 }), {
    family: 4,
    port: 51820,
    scopeId: 0,
    address: new Uint8Array([127, 0, 0, 1]),
  });
  const v6 = await resolveEndpoint({ host: "::1", port: 9 });
  strictEqual(formatEndpoint(v6), "[::1]:9");
  strictEqual(v6.family, 6);
});

Deno.test("resolveEndpoint resolves localhost through the host resolver (/etc/hosts)", async () => {
  const endpoint = await resolveEndpoint({ host: "localhost", port: 51820 });
  const shown = formatEndpoint(endpoint);
  strictEqual(
    shown === "127.0.0.1:51820" || shown === "[::1]:51820",
    true,
    `localhost resolved to ${shown}`,
  );
});

Deno.test("resolveEndpoint takes a numeric zone as scope id and looks up a named one", async () => {
  const numeric = await resolveEndpoint({ host: "fe80::1%7", port: 1 });
  strictEqual(numeric.scopeId, 7);
  const lo = await resolveEndpoint({ host: "fe80::1%lo", port: 1 }, hostResolver);
  strictEqual(lo.scopeId, Number((await Deno.readTextFile("/sys/class/net/lo/ifindex")).trim()));
});

function fakeResolver(lookup: ResolverIo["lookup"]): ResolverIo {
  return { lookup, interfaceIndex: () => Promise.reject(new Error("no interfaces here")) };
}

Deno.test("resolveEndpoint prefers the resolver's first answer", async () => {
  const io = fakeResolver(() =>
    Promise.resolve([{ address: "fd00::5", family: 6 }, { address: "10.0.0.5", family: 4 }])
  );
  strictEqual(
    formatEndpoint(await resolveEndpoint({ host: "peer.lan", port: 5 }, io)),
    "[fd00::5]:5",
  );
});

Deno.test("resolveEndpoint names the endpoint, the cause and the fix when a name fails", async () => {
  const notFound = Object.assign(new Error("getaddrinfo ENOTFOUND vpn.example.com"), {
    code: "ENOTFOUND",
  });
  await rejects(
    resolveEndpoint(
      { host: "vpn.example.com", port: 51820 },
      fakeResolver(() => Promise.reject(notFound)),
    ),
    (error: unknown) => {
      if (!(error instanceof ConfigError)) throw error;
      strictEqual(
        error.message,
        "wgcage: Cannot resolve endpoint 'vpn.example.com:51820': no such host; check the name or use an IP address",
      );
      return true;
    },
  );
  await rejects(
    resolveEndpoint({ host: "vpn.example.com", port: 1 }, fakeResolver(() => Promise.resolve([]))),
    /Cannot resolve endpoint 'vpn.example.com:1': the resolver returned no address; check the name/,
  );
  await rejects(
    resolveEndpoint(
      { host: "fe80::1%nosuchif0", port: 1 },
      fakeResolver(() => Promise.resolve([])),
    ),
    /Cannot resolve endpoint '\[fe80::1%nosuchif0\]:1': no network interface 'nosuchif0'; use the name or index/,
  );
});
