/**
 * The netlink module against the real kernel: a test namespace with a TUN,
 * configured by `configureLinks` over a socket opened inside it, then checked
 * with `ip`. Needs root (it creates network namespaces) and iproute2.
 *
 *   test (root, host netns)
 *     ├─ ip netns add wgc-nl-<pid>-<case>; ip -n NS tuntap add dev wg0 mode tun
 *     ├─ ip netns exec NS deno run -A tests/netlink/driver.ts configure PLAN
 *     ├─ ip -n NS -j link / addr / route / -6 route   (what the kernel holds)
 *     └─ ip netns del NS                               (always, in finally)
 *
 * @module
 */

import { deepStrictEqual, strictEqual } from "node:assert";

const DRIVER = new URL("./netlink/driver.ts", import.meta.url).pathname;

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[]): Promise<Output> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    throw new Error(
      `Cannot run ${command}: ${(error as Error).message}; this test needs iproute2 installed`,
    );
  }
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

async function ip(...args: string[]): Promise<string> {
  const output = await run("ip", args);
  if (output.code !== 0) throw new Error(`ip ${args.join(" ")} failed: ${output.stderr.trim()}`);
  return output.stdout;
}

async function ipJson<T>(...args: string[]): Promise<T[]> {
  return JSON.parse(await ip("-j", ...args)) as T[];
}

function requireRoot(): void {
  if (Deno.uid() !== 0) {
    throw new Error(
      "tests/netlink_kernel_test.ts needs root to create network namespaces; run it as root (sudo deno test -A tests/netlink_kernel_test.ts)",
    );
  }
}

/** Runs `body` with a fresh namespace holding a TUN `wg0`; deletes the namespace afterwards. */
async function withNamespace(tag: string, body: (ns: string) => Promise<void>): Promise<void> {
  requireRoot();
  const ns = `wgc-nl-${Deno.pid}-${tag}`;
  await ip("netns", "add", ns);
  try {
    await ip("-n", ns, "tuntap", "add", "dev", "wg0", "mode", "tun");
    await body(ns);
  } finally {
    await run("ip", ["netns", "del", ns]);
  }
}

interface PlanText {
  tunName: string;
  mtu: number;
  addresses: string[];
  routes: string[];
}

function driver(ns: string, ...args: string[]): Promise<Record<string, unknown>> {
  return driverAs([], ns, ...args);
}

/** Runs the driver in `ns`, behind `prefix` (e.g. a setpriv command dropping root). */
async function driverAs(
  prefix: string[],
  ns: string,
  ...args: string[]
): Promise<Record<string, unknown>> {
  const output = await run("ip", [
    "netns",
    "exec",
    ns,
    ...prefix,
    Deno.execPath(),
    "run",
    "-A",
    DRIVER,
    ...args,
  ]);
  if (output.code !== 0) {
    throw new Error(`the netlink driver failed (${output.code}): ${output.stderr.trim()}`);
  }
  return JSON.parse(output.stdout) as Record<string, unknown>;
}

function configure(ns: string, plan: PlanText): Promise<Record<string, unknown>> {
  return driver(ns, "configure", JSON.stringify(plan));
}

const PLAN: PlanText = {
  tunName: "wg0",
  mtu: 1380,
  addresses: ["10.99.0.2/32", "10.99.1.2/24", "fd99::2/128", "fd99:1::2/64"],
  // 10.99.1.0/24 and fd99:1::/64 are also the connected routes of two addresses.
  routes: ["0.0.0.0/0", "::/0", "10.98.0.0/16", "fd98::/64", "10.99.1.0/24", "fd99:1::/64"],
};

interface IpLink {
  ifname: string;
  flags: string[];
  mtu: number;
}
interface IpAddr {
  ifname: string;
  addr_info: {
    family: string;
    local: string;
    prefixlen: number;
    nodad?: boolean;
    tentative?: boolean;
  }[];
}
interface IpRoute {
  dst: string;
  dev: string;
  protocol?: string;
  scope?: string;
  metric?: number;
}

function routeLines(routes: IpRoute[]): string[] {
  return routes.map((r) =>
    [
      r.dst,
      `dev ${r.dev}`,
      r.protocol && `proto ${r.protocol}`,
      r.scope && `scope ${r.scope}`,
      r.metric && `metric ${r.metric}`,
    ]
      .filter(Boolean).join(" ")
  ).sort();
}

Deno.test("configureLinks brings lo and the TUN up with the planned MTU, addresses and routes", async () => {
  await withNamespace("plan", async (ns) => {
    deepStrictEqual(await configure(ns, PLAN), { ok: true });

    const links = await ipJson<IpLink>("-n", ns, "link");
    deepStrictEqual(links.map((l) => l.ifname), ["lo", "wg0"]);
    strictEqual(links[0].flags.includes("UP"), true, `lo flags: ${links[0].flags}`);
    strictEqual(links[1].flags.includes("UP"), true, `wg0 flags: ${links[1].flags}`);
    strictEqual(links[1].mtu, 1380);

    const addresses = (await ipJson<IpAddr>("-n", ns, "addr", "show", "dev", "wg0"))[0].addr_info;
    deepStrictEqual(addresses.map((a) => `${a.family} ${a.local}/${a.prefixlen}`).sort(), [
      "inet 10.99.0.2/32",
      "inet 10.99.1.2/24",
      "inet6 fd99:1::2/64",
      "inet6 fd99::2/128",
    ]);
    for (const address of addresses.filter((a) => a.family === "inet6")) {
      strictEqual(address.nodad, true, `${address.local} should carry nodad`);
      strictEqual(address.tentative, undefined, `${address.local} should not be tentative`);
    }

    deepStrictEqual(routeLines(await ipJson<IpRoute>("-n", ns, "route")), [
      "10.98.0.0/16 dev wg0 scope link",
      "10.99.1.0/24 dev wg0 proto kernel scope link",
      "default dev wg0 scope link",
    ]);
    deepStrictEqual(routeLines(await ipJson<IpRoute>("-n", ns, "-6", "route")), [
      "default dev wg0 metric 1024",
      "fd98::/64 dev wg0 metric 1024",
      "fd99:1::/64 dev wg0 proto kernel metric 256",
      "fd99::2 dev wg0 proto kernel metric 256",
    ]);
  });
});

Deno.test("configureLinks batches many routes past one datagram, and a second run leaves them alone", async () => {
  await withNamespace("batch", async (ns) => {
    // No route is an address's own prefix: everything after the TUN's lookup
    // goes in batches of requests, 150 routes past the first datagram.
    const many = Array.from({ length: 150 }, (_, i) => `10.${100 + (i >> 8)}.${i & 255}.0/24`);
    const plan: PlanText = {
      tunName: "wg0",
      mtu: 1420,
      addresses: ["10.99.0.2/32", "fd99::2/128"],
      routes: ["0.0.0.0/0", "::/0", "fd98::/64", ...many],
    };
    deepStrictEqual(await configure(ns, plan), { ok: true });
    const v4 = routeLines(await ipJson<IpRoute>("-n", ns, "route"));
    deepStrictEqual(
      v4,
      ["default dev wg0 scope link", ...many.map((p) => `${p} dev wg0 scope link`)].sort(),
    );
    const v6 = routeLines(await ipJson<IpRoute>("-n", ns, "-6", "route"));
    deepStrictEqual(v6, [
      "default dev wg0 metric 1024",
      "fd98::/64 dev wg0 metric 1024",
      "fd99::2 dev wg0 proto kernel metric 256",
    ]);
    // Again, without the addresses: every route is there through wg0 already
    // (EEXIST), which is no failure, and none is doubled.
    deepStrictEqual(await configure(ns, { ...plan, addresses: [] }), { ok: true });
    deepStrictEqual(routeLines(await ipJson<IpRoute>("-n", ns, "route")), v4);
    deepStrictEqual(routeLines(await ipJson<IpRoute>("-n", ns, "-6", "route")), v6);
  });
});

Deno.test("listLinks, listAddresses and listRoutes agree with ip about a configured namespace", async () => {
  await withNamespace("list", async (ns) => {
    deepStrictEqual(await configure(ns, PLAN), { ok: true });
    const listed = await driver(ns, "list") as {
      links: { name: string; mtu: number; up: boolean; index: number }[];
      addresses: { address: string; prefix: number; index: number }[];
      routes: { destination: string; prefix: number; table: number; outputIndex?: number }[];
    };
    const links = await ipJson<IpLink & { ifindex: number }>("-n", ns, "link");
    deepStrictEqual(
      listed.links.map((l) => `${l.index} ${l.name} ${l.mtu} ${l.up}`),
      links.map((l) => `${l.ifindex} ${l.ifname} ${l.mtu} ${l.flags.includes("UP")}`),
    );
    const addresses = (await ipJson<IpAddr>("-n", ns, "addr")).flatMap((link) =>
      link.addr_info.map((a) => `${link.ifname} ${a.local}/${a.prefixlen}`)
    );
    const names = new Map(links.map((l) => [l.ifindex, l.ifname]));
    deepStrictEqual(
      listed.addresses.map((a) => `${names.get(a.index)} ${a.address}/${a.prefix}`).sort(),
      addresses.sort(),
    );
    const mainRoutes = [
      ...await ipJson<IpRoute>("-n", ns, "route"),
      ...await ipJson<IpRoute>("-n", ns, "-6", "route"),
    ].map((
      r,
    ) => (r.dst === "default"
      ? "default"
      : r.dst.includes("/")
      ? r.dst
      : `${r.dst}/${r.dst.includes(":") ? 128 : 32}`)
    );
    deepStrictEqual(
      listed.routes.filter((r) => r.table === 254).map((r) =>
        r.prefix === 0 ? "default" : `${r.destination}/${r.prefix}`
      )
        .sort(),
      mainRoutes.sort(),
    );
  });
});

Deno.test("kernel refusals come back as one-line NetlinkErrors naming the request and the fix", async () => {
  await withNamespace("errors", async (ns) => {
    deepStrictEqual(await configure(ns, { ...PLAN, routes: [] }), { ok: true });

    deepStrictEqual(await configure(ns, { ...PLAN, routes: [] }), {
      errno: 17,
      error:
        'Cannot add address 10.99.0.2/32 to wg0: File exists (EEXIST, kernel says "ipv4: Address already assigned"); wg0 already has this address; list each address once',
    });

    deepStrictEqual(await configure(ns, { ...PLAN, tunName: "nope0" }), {
      errno: 19,
      error:
        "Cannot find link nope0: No such device (ENODEV); the socket's network namespace has no link of that name; was the TUN device created in the cage?",
    });

    await ip("-n", ns, "route", "add", "10.97.0.0/16", "dev", "lo");
    deepStrictEqual(await configure(ns, { ...PLAN, addresses: [], routes: ["10.97.0.0/16"] }), {
      errno: 17,
      error:
        "Cannot add route 10.97.0.0/16 via wg0: File exists (EEXIST); another route for this prefix is already in the main table",
    });
    deepStrictEqual(routeLines(await ipJson<IpRoute>("-n", ns, "route", "show", "10.97.0.0/16")), [
      "10.97.0.0/16 dev lo scope link",
    ]);

    deepStrictEqual(await configure(ns, { ...PLAN, mtu: 10, addresses: [], routes: [] }), {
      errno: 22,
      error:
        'Cannot set the MTU of wg0 to 10 and bring wg0 up: Invalid argument (EINVAL, kernel says "mtu less than device minimum"); the MTU is outside what the device accepts (68..65535 for a TUN)',
    });
  });
});

Deno.test("a socket without CAP_NET_ADMIN over its namespace gets EPERM with the likely cause", async () => {
  await withNamespace("eperm", async (ns) => {
    const denoDir = await Deno.makeTempDir({ prefix: "wgc-nl-deno-" });
    try {
      await Deno.chmod(denoDir, 0o777);
      const nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "env",
        `DENO_DIR=${denoDir}`,
        `HOME=${denoDir}`,
      ];
      deepStrictEqual(await driverAs(nobody, ns, "configure", JSON.stringify(PLAN)), {
        errno: 1,
        error:
          "Cannot bring lo up: Operation not permitted (EPERM); the netlink socket is not in a network namespace wgcage owns",
      });
      const links = await ipJson<IpLink>("-n", ns, "link");
      strictEqual(links.some((l) => l.flags.includes("UP")), false, "nothing was changed");
    } finally {
      await Deno.remove(denoDir, { recursive: true });
    }
  });
});
