/**
 * `wgcage serve`, rootless, end to end:
 *
 * ```
 *   cli (clients, as cages)         exit (the server's host)            inet ("the internet")
 *   ┌──────────────────────┐        ┌───────────────────────────┐       ┌──────────────────────┐
 *   │ veth .2 ─────────────┼── ─── ─┼─ veth .1                  │       │ lo 192.0.2.10        │
 *   │ default via .1       │        │ wgcage serve (nobody)     │       │  HTTP :8080 (answers │
 *   │ wgcage -- curl …     │        │  cage: wg0 10.200.0.1/24  │       │  the source address) │
 *   └──────────────────────┘        │  pasta ── veth .1 ────────┼───────┼─ veth .2             │
 *                                   │ default via inet          │       │  UDP echo :8082      │
 *                                   └───────────────────────────┘       └──────────────────────┘
 * ```
 *
 * The internet namespace is reachable only from the exit namespace (which
 * does not forward): a client gets there only through the server.
 * Needs root (namespaces), pasta (passt), nft (nftables), curl, ping
 * (iputils-ping) and socat.
 */

import { assert, assertEquals, assertMatch } from "./cage/assert.ts";
import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { run, sleep, waitUntil } from "./harness/process.ts";
import { generateKeyPair } from "./harness/keys.ts";
import { type LiveRunner, liveRunner } from "./harness/live.ts";
import { loopbackPeer, wgcageArgv, writeConfig } from "./e2e/wgcage.ts";
import { makeTestUser, sudoEnv } from "./cage/test_user.ts";
import { cageName } from "./harness/names.ts";
import {
  INET,
  INET6,
  serveArgv,
  serverFiles,
  type ServeTopology,
  serveTopology,
} from "./harness/serve_lab.ts";

const HTTP_SOURCE =
  `Deno.serve({ hostname: "${INET}", port: 8080, onListen() { console.log("ready"); } },
  (_r, info) => new Response(info.remoteAddr.hostname));`;

type Topology = ServeTopology;

/** The namespaces, with an HTTP server and a UDP echo in the internet one. */
async function topology(lab: Lab): Promise<Topology> {
  const t = await serveTopology(lab);
  const http = t.inet.spawn([Deno.execPath(), "eval", HTTP_SOURCE]);
  await http.waitForLine("ready", 20_000);
  t.inet.spawn(["socat", `UDP-RECVFROM:8082,bind=${INET},fork`, "EXEC:cat"]);
  return t;
}

interface Registered {
  address: string;
  address6?: string;
  server_public_key: string;
  endpoint: string;
  allowed_ips: string[];
}

async function api(
  t: Topology,
  token: string,
  method: string,
  path: string,
  body?: string,
  bodyFile?: string,
): Promise<{ status: number; text: string }> {
  const r = await t.cli.run([
    "curl",
    "-sk",
    "-m",
    "10",
    "-X",
    method,
    "-H",
    `Authorization: Bearer ${token}`,
    "-H",
    "content-type: application/json",
    ...(body !== undefined ? ["--data-binary", "@-"] : []),
    ...(bodyFile !== undefined ? ["--data-binary", `@${bodyFile}`] : []),
    "-w",
    "\n%{http_code}",
    `https://${t.serverAddress}:8443${path}`,
  ], { stdin: body, allowFailure: true });
  const lines = r.stdout.trimEnd().split("\n");
  return { status: Number(lines.pop()), text: lines.join("\n").trim() };
}

/** A new key pair registered through the API (201 asserted). */
async function registerKeys(t: Topology, token: string) {
  const keys = await generateKeyPair();
  const reg = await api(
    t,
    token,
    "POST",
    "/v1/clients",
    JSON.stringify({ public_key: keys.publicKey }),
  );
  assertEquals(reg.status, 201, reg.text);
  return { keys, c: JSON.parse(reg.text) as Registered };
}

/**
 * Writes a client's wg config from the server's answer: its IPv4 address and
 * its IPv6 one when it was given one, and `allowedIps` for the server's peer.
 */
async function writeClientConfig(
  lab: Lab,
  privateKey: string,
  c: Registered,
  allowedIps: string[],
  file: string,
): Promise<string> {
  return await writeConfig(
    lab,
    [
      "[Interface]",
      `PrivateKey = ${privateKey}`,
      `Address = ${[c.address, ...(c.address6 ? [c.address6] : [])].join(", ")}`,
      "DNS = 10.200.0.1",
      "[Peer]",
      `PublicKey = ${c.server_public_key}`,
      `Endpoint = ${c.endpoint}`,
      `AllowedIPs = ${allowedIps.join(", ")}`,
      "",
    ].join("\n"),
    0,
    file,
  );
}

async function clientConfig(lab: Lab, t: Topology, token: string) {
  const { keys, c } = await registerKeys(t, token);
  const path = await writeClientConfig(
    lab,
    keys.privateKey,
    c,
    c.allowed_ips,
    `c${c.address.split(".")[3].split("/")[0]}.conf`,
  );
  return { path, address: c.address.split("/")[0], publicKey: keys.publicKey };
}

/**
 * A client cage whose command answers "tcp-ok" on TCP 7000 and "udp-ok" on
 * UDP 7001; resolves once both listen.
 */
async function echoCage(t: Topology, config: string) {
  const inside = t.cli.spawn(wgcageArgv([
    "--config",
    config,
    "--",
    "sh",
    "-c",
    "socat TCP-LISTEN:7000,reuseaddr,fork SYSTEM:'echo tcp-ok' & " +
    "socat UDP-RECVFROM:7001,fork SYSTEM:'echo udp-ok' & echo listening; wait",
  ]));
  try {
    await inside.waitForLine("listening", 30_000);
  } catch (e) {
    await inside.stop();
    throw e;
  }
  return inside;
}

/**
 * What the server's TCP and UDP ports answer, asked from the client side up
 * to `tries` times (300 ms apart) until both say "tcp-ok" and "udp-ok".
 */
async function throughForwards(t: Topology, tcpPort: number, udpPort: number, tries: number) {
  let tcp = "";
  let udp = "";
  for (let i = 0; i < tries && (tcp !== "tcp-ok" || udp !== "udp-ok"); i++) {
    await sleep(300);
    tcp = (await t.cli.run(["sh", "-c", `echo x | socat -T3 - TCP:${t.serverAddress}:${tcpPort}`], {
      allowFailure: true,
    })).stdout.trim();
    udp = (await t.cli.run(["sh", "-c", `echo x | socat -T3 - UDP:${t.serverAddress}:${udpPort}`], {
      allowFailure: true,
    })).stdout.trim();
  }
  return [tcp, udp];
}

/** Runs `sh -c script` in a client cage; resolves with its output. */
async function inClient(t: Topology, config: string, script: string) {
  return await run(wgcageArgv(["--config", config, "--", "sh", "-c", script]), {
    ns: t.cli.name,
    allowFailure: true,
    timeoutMs: 60_000,
  });
}

Deno.test("wgcage serve: a rootless exit, hub and provisioning API", async (test) => {
  requireRoot("e2e_serve_test");
  for (
    const [tool, pkg] of [["pasta", "passt"], ["nft", "nftables"], ["curl", "curl"], [
      "ping",
      "iputils-ping",
    ], ["socat", "socat"]]
  ) {
    await requireTool(tool, pkg);
  }
  await using lab = await Lab.open();
  const t = await topology(lab);
  const files = await serverFiles(lab);
  const runner = await liveRunner(lab, t.exit.name, true);
  const serveArgs = serveArgv(t, files);
  const start = async () => {
    const p = t.exit.spawn(runner.argv(serveArgs));
    const line = await p.waitForLine((l) => l.startsWith("wgcage: api "), 60_000);
    return { p, line };
  };
  let serve = await start();
  assertMatch(serve.line, /^wgcage: api https:\/\/0\.0\.0\.0:8443 sha256=[0-9a-f]{64}$/);
  const fingerprint = serve.line.split("sha256=")[1];
  // The server's cage resolves nothing: no advice about its DNS.
  assertEquals(/DNS/.test(serve.p.stderr), false, serve.p.stderr);

  const c1 = await clientConfig(lab, t, files.token);
  const c2 = await clientConfig(lab, t, files.token);
  assertEquals([c1.address, c2.address], ["10.200.0.2", "10.200.0.3"]);

  await test.step("a client's traffic leaves with the exit host's address; ping works", async () => {
    const r = await inClient(
      t,
      c1.path,
      `curl -sS -m 10 http://${INET}:8080/ && echo && ping -c1 -W5 ${INET} >/dev/null && echo ping-ok` +
        ` && echo hello | socat -T5 - UDP:${INET}:8082`,
    );
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.trim().split("\n"), [t.exitAddress, "ping-ok", "hello"]);
  });

  await test.step("clients reach the server's address and each other", async () => {
    const other = t.cli.spawn(wgcageArgv(["--config", c2.path, "--", "sleep", "30"]));
    try {
      const r = await inClient(
        t,
        c1.path,
        `ping -c1 -W3 10.200.0.1 >/dev/null && for i in 1 2 3 4 5 6 7 8 9 10; do ` +
          `ping -c1 -W2 ${c2.address} >/dev/null && echo hub-ok && exit 0; sleep 1; done; exit 1`,
      );
      assertEquals(r.stdout.trim(), "hub-ok", r.stderr);
    } finally {
      await other.stop();
    }
  });

  await test.step("the server cage is a live cage: 'wgcage show' and 'wgcage wg serve show' list the clients", async () => {
    assertEquals((await peersShown(runner)).sort(), [c1.publicKey, c2.publicKey].sort());
    // pasta's interface queues a forwarded burst instead of dropping it.
    const link = await runner.wgcage(["exec", "serve", "--", "ip", "-o", "link", "show", "veth0"]);
    assertMatch(link.stdout, /qlen 10000/, link.stderr);
    const wg = await runner.wgcage(["wg", "serve", "show", "peers"]);
    assertEquals(wg.code, 0, wg.stderr);
    assertEquals(wg.stdout.trim().split("\n").sort(), [c1.publicKey, c2.publicKey].sort());
  });

  await test.step("API errors: one JSON line each, and the server keeps serving", async () => {
    const wrong = await api(t, "not-the-token", "GET", "/v1/clients");
    assertEquals(wrong.status, 401);
    assertMatch(wrong.text, /^\{"error":"[^\n]+"\}$/);
    const bad = await api(t, files.token, "POST", "/v1/clients", "{not json");
    assertEquals([bad.status, JSON.parse(bad.text).error], [400, "the body is not JSON"]);
    const hugeFile = `${files.dir}/huge.json`;
    await Deno.writeTextFile(hugeFile, `{"public_key":"${"x".repeat(1 << 20)}"}`);
    const huge = await api(t, files.token, "POST", "/v1/clients", undefined, hugeFile);
    assertEquals(huge.status, 413);
    const dup = await api(
      t,
      files.token,
      "POST",
      "/v1/clients",
      JSON.stringify({ public_key: c1.publicKey }),
    );
    assertEquals(dup.status, 409);
    const malformed = await api(t, files.token, "POST", "/v1/clients", '{"public_key":"abc"}');
    assertEquals(malformed.status, 400);
    // 1,000 bad requests in a burst, over one connection: each answered (401 or 429).
    const config = `${files.dir}/burst.curl`;
    await Deno.writeTextFile(
      config,
      Array.from(
        { length: 1000 },
        () => `url = "https://${t.serverAddress}:8443/v1/clients"\noutput = "/dev/null"\n`,
      ).join(""),
    );
    const burst = await t.cli.run([
      "curl",
      "-sk",
      "-H",
      "Authorization: Bearer wrong-wrong-wrong",
      "-w",
      "%{http_code}\n",
      "-K",
      config,
    ], { timeoutMs: 120_000, allowFailure: true });
    const codes = burst.stdout.trim().split("\n");
    assertEquals(codes.length, 1000);
    assert(codes.every((c) => c === "401" || c === "429"), [...new Set(codes)].join(","));
    assert(codes.includes("429"), "the burst was not rate-limited");
    await sleep(2500);
    const list = await api(t, files.token, "GET", "/v1/clients");
    assertEquals(list.status, 200, list.text);
    assertEquals(JSON.parse(list.text).clients.length, 2);
  });

  await test.step("a restart keeps the clients and the certificate", async () => {
    await serve.p.stop();
    serve = await start();
    assertEquals(serve.line.split("sha256=")[1], fingerprint);
    const r = await inClient(t, c1.path, `curl -sS -m 10 http://${INET}:8080/`);
    assertEquals([r.code, r.stdout.trim()], [0, t.exitAddress], r.stderr);
  });

  await test.step("--forward relays a TCP connection and a UDP datagram to a client", async () => {
    await serve.p.stop();
    serveArgs.push(
      "--forward",
      `9000:${c1.publicKey}:7000`,
      "--forward",
      `0.0.0.0:9001:${c1.publicKey}:7001/udp`,
      "--forward",
      `9002:${c2.publicKey}:7000`,
    );
    serve = await start();
    const inside = await echoCage(t, c1.path);
    try {
      assertEquals(await throughForwards(t, 9000, 9001, 20), ["tcp-ok", "udp-ok"]);
    } finally {
      await inside.stop();
    }
  });

  await test.step("forwards through the API: POST opens a port, it survives a restart, DELETE closes it", async () => {
    const post = (body: unknown) =>
      api(t, files.token, "POST", "/v1/forwards", JSON.stringify(body));
    const tcpFwd = await post({ port: 9100, public_key: c1.publicKey, client_port: 7000 });
    assertEquals(tcpFwd.status, 201, tcpFwd.text);
    const udpFwd = await post({
      port: 9101,
      public_key: c1.publicKey,
      client_port: 7001,
      protocol: "udp",
    });
    assertEquals(udpFwd.status, 201, udpFwd.text);
    // Each mistake gets its one JSON line, and nothing is opened or kept.
    const unknown = await post({ port: 9102, public_key: "A".repeat(43) + "=", client_port: 1 });
    assertEquals(unknown.status, 404, unknown.text);
    const taken = await post({ port: 9100, public_key: c1.publicKey, client_port: 7000 });
    assertEquals(taken.status, 409, taken.text);
    assertMatch(JSON.parse(taken.text).error, /9100/);
    const badPort = await post({ port: 0, public_key: c1.publicKey, client_port: 7000 });
    assertEquals(badPort.status, 400, badPort.text);
    const ids = [JSON.parse(tcpFwd.text).id, JSON.parse(udpFwd.text).id];
    const inside = await echoCage(t, c1.path);
    const through = () => throughForwards(t, 9100, 9101, 30);
    try {
      assertEquals(await through(), ["tcp-ok", "udp-ok"]);
      await serve.p.stop();
      serve = await start();
      const listed = await api(t, files.token, "GET", "/v1/forwards");
      assertEquals(
        JSON.parse(listed.text).forwards.map((f: { id: number }) => f.id),
        ids,
        listed.text,
      );
      assertEquals(await through(), ["tcp-ok", "udp-ok"], "after a restart");
      const del = await api(t, files.token, "DELETE", `/v1/forwards/${ids[0]}`);
      assertEquals(del.status, 204, del.text);
      const closed = await t.cli.run(
        ["sh", "-c", `echo x | socat -T3 - TCP:${t.serverAddress}:9100`],
        { allowFailure: true },
      );
      assertEquals(closed.code !== 0, true, closed.stdout);
      assertMatch(closed.stderr, /refused/);
      const kept = JSON.parse(await Deno.readTextFile(`${files.dir}/state/forwards.json`));
      assertEquals(kept.forwards.map((f: { id: number }) => f.id), [ids[1]]);
      const again = await api(t, files.token, "DELETE", `/v1/forwards/${ids[0]}`);
      assertEquals(again.status, 404, again.text);
    } finally {
      await inside.stop();
    }
  });

  await test.step("DELETE removes the client: it can no longer get through", async () => {
    const del = await api(
      t,
      files.token,
      "DELETE",
      `/v1/clients/${encodeURIComponent(c2.publicKey)}`,
    );
    assertEquals(del.status, 204, del.text);
    assertEquals(await peersShown(runner), [c1.publicKey]);
    // A forward to the client that is gone: the connection is reset at once
    // (curl: 56), not left to time out (28).
    // (Connection refused, 7, means the forward's listener is not up again
    // yet after the restart before: seen once in a loaded run; try again.)
    let reset = { code: 7, stderr: "" };
    for (let i = 0; i < 20 && reset.code === 7; i++) {
      if (i > 0) await sleep(250);
      reset = await t.cli.run(
        ["curl", "-sS", "-m", "5", `http://${t.serverAddress}:9002/`],
        { allowFailure: true },
      );
    }
    assertEquals(reset.code, 56, reset.stderr);
    assertMatch(reset.stderr, /reset/);
    const state = JSON.parse(await Deno.readTextFile(`${files.dir}/state/clients.json`));
    assertEquals(state.clients.map((c: { publicKey: string }) => c.publicKey), [c1.publicKey]);
  });

  await test.step("clients by name: server add, --server, ls, export, rm", async () => {
    const home = await Deno.makeTempDir({ prefix: "wgc-client-" });
    lab.defer(() => Deno.remove(home, { recursive: true }));
    const tokenFile = `${home}/token`;
    await Deno.writeTextFile(tokenFile, files.token, { mode: 0o600 });
    const url = `https://${t.serverAddress}:8443`;
    const client = (args: string[]) =>
      run(["env", `XDG_CONFIG_HOME=${home}/config`, ...wgcageArgv(args)], {
        ns: t.cli.name,
        allowFailure: true,
        timeoutMs: 60_000,
      });
    // 'server add work' with the right token and certificate `pin`.
    const addWork = (pin: string) =>
      client(["server", "add", "work", url, "--token-file", tokenFile, "--fingerprint", pin]);
    const wrongPin = await addWork("ab".repeat(32));
    assertEquals(wrongPin.code, 125);
    assertMatch(wrongPin.stderr, /not the one pinned/);
    const badToken = `${home}/bad`;
    await Deno.writeTextFile(badToken, "wrong-token-wrong-token", { mode: 0o600 });
    const refused = await client(["server", "add", "work", url, "--token-file", badToken]);
    assertEquals(refused.code, 125);
    assertMatch(refused.stderr, /wrong or missing token/);
    const added = await addWork(fingerprint);
    assertEquals(added.code, 0, added.stderr);
    const dir = `${home}/config/wgcage/servers/work`;
    assertEquals((await Deno.stat(`${dir}/token`)).mode! & 0o777, 0o600);
    // curl to the internet from a cage: `--server work`, or `exec CAGE` of a live one.
    const fetchInet = (how: string[]) =>
      client([...how, "--", "curl", "-sS", "-m", "10", `http://${INET}:8080/`]);
    const first = await fetchInet(["--server", "work"]);
    assertEquals([first.code, first.stdout.trim()], [0, t.exitAddress], first.stderr);
    assertEquals((await Deno.stat(`${dir}/private.key`)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/wg.conf`)).mode! & 0o777, 0o600);
    // The caged command cannot take the token or the key.
    const peek = await client([
      "--server",
      "work",
      "--",
      "sh",
      "-c",
      `ls -A ${dir} | wc -l; cat ${dir}/token || true`,
    ]);
    assertEquals(peek.stdout.trim(), "0", peek.stderr);
    const ls = await client(["server", "ls"]);
    const [lsName, lsUrl, lsAddress] = ls.stdout.trim().split("\t");
    assertEquals([lsName, lsUrl], ["work", url]);
    assertMatch(lsAddress, /^10\.200\.0\.[0-9]+\/32$/);
    const exported = await client(["server", "export", "work"]);
    assertEquals(exported.code, 0, exported.stderr);
    const conf = `${home}/work.conf`;
    await Deno.writeTextFile(conf, exported.stdout, { mode: 0o600 });
    const strip = await run(["wg-quick", "strip", conf], { allowFailure: true });
    assertEquals(strip.code, 0, strip.stderr);
    assertMatch(strip.stdout, /^\[Peer\]$/m);
    // The server forgets this machine: the next run registers it again, once.
    const pub = (await Deno.readTextFile(conf)).match(/^PrivateKey = (.+)$/m)![1];
    const key = (await run(wgcageArgv(["pubkey"]), { stdin: `${pub}\n` })).stdout.trim();
    const del = await api(t, files.token, "DELETE", `/v1/clients/${encodeURIComponent(key)}`);
    assertEquals(del.status, 204);
    const again = await fetchInet(["--server", "work"]);
    assertEquals([again.code, again.stdout.trim()], [0, t.exitAddress], again.stderr);
    assert((await peersShown(runner)).includes(key));
    // A live cage through the server: 'up CAGE --server NAME'.
    const cage = cageName("sc");
    const up = await client(["up", cage, "-d", "--server", "work"]);
    assertEquals(up.code, 0, up.stderr);
    try {
      const exec = await fetchInet(["exec", cage]);
      assertEquals([exec.code, exec.stdout.trim()], [0, t.exitAddress], exec.stderr);
    } finally {
      await client(["down", cage]);
    }
    const rm = await client(["server", "rm", "work"]);
    assertEquals(rm.code, 0, rm.stderr);
    assertEquals((await peersShown(runner)).includes(key), false);
    assertEquals((await client(["server", "ls"])).stdout.trim(), "");
  });

  await test.step("without pasta: one line naming the package, exit 125", async () => {
    await serve.p.stop();
    // The forwards go: one names a client deleted above.
    serveArgs.splice(serveArgs.indexOf("--forward"));
    // PATH without /usr/bin, where pasta is (nft and nsenter are found in sbin).
    const r = await t.exit.run(
      runner.argv([...serveArgs, "--name", "nopasta"], {
        PATH: "/usr/local/sbin:/usr/sbin:/sbin",
      }),
      { allowFailure: true, timeoutMs: 60_000 },
    );
    assertEquals(r.code, 125, r.stderr);
    const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("wgcage: warning: -L"));
    assertEquals(lines.at(-1)!.includes("apt-get install passt"), true, r.stderr);
    serve = await start();
  });

  await test.step("kill -9 of the server leaves no process behind", async () => {
    const pids = await descendants(serve.p.pid);
    assert(pids.length >= 2, `expected the cage's init and pasta, got ${pids.join(",")}`);
    Deno.kill(serve.p.pid, "SIGKILL");
    await serve.p.status;
    await waitUntil(() => pids.every((p) => !alive(p)), "the server's processes end", 5000)
      .catch(() => {});
    const left = pids.filter(alive);
    assertEquals(left, [], `left behind: ${left.map(describe).join("; ")}`);
  });
});

Deno.test("wgcage serve as root, --no-egress, with an IPv6 subnet too: a hub only, both families; the stock wg reads it", async (test) => {
  requireRoot("e2e_serve_test");
  for (
    const [tool, pkg] of [["nft", "nftables"], ["curl", "curl"], ["ping", "iputils-ping"], [
      "wg",
      "wireguard-tools",
    ]]
  ) {
    await requireTool(tool, pkg);
  }
  await using lab = await Lab.open();
  const t = await topology(lab);
  const files = await serverFiles(lab);
  const name = cageName("sv");
  const serve = t.exit.spawn(
    wgcageArgv([
      "serve",
      "--name",
      name,
      "--private-key-file",
      files.key,
      "--endpoint",
      `${t.serverAddress}:51820`,
      "--no-egress",
      "--subnet",
      "fd00:200::/64",
      "--api",
      "0.0.0.0:8443",
      "--insecure-http",
      "--token-env",
      "WGC_TEST_TOKEN",
      "--state-dir",
      `${files.dir}/state`,
    ]),
    { WGC_TEST_TOKEN: files.token },
  );
  const line = await serve.waitForLine((l) => l.startsWith("wgcage: api "), 60_000);
  assertEquals(line, "wgcage: api http://0.0.0.0:8443");
  const register = async () => {
    const keys = await generateKeyPair();
    const r = await t.cli.run([
      "curl",
      "-sS",
      "-m",
      "10",
      "-H",
      `Authorization: Bearer ${files.token}`,
      "--data-binary",
      JSON.stringify({ public_key: keys.publicKey }),
      `http://${t.serverAddress}:8443/v1/clients`,
    ]);
    const c = JSON.parse(r.stdout) as Registered;
    assertEquals(c.allowed_ips, ["10.200.0.0/24", "fd00:200::/64"]);
    // Its IPv6 address has its IPv4 host number.
    assertEquals(c.address6, `fd00:200::${c.address.split(".")[3].split("/")[0]}/128`);
    // The client tries to send everything to the server all the same.
    const path = await writeClientConfig(
      lab,
      keys.privateKey,
      c,
      ["0.0.0.0/0", "::/0"],
      `h${c.address.split(".")[3].split("/")[0]}.conf`,
    );
    return {
      path,
      address: c.address.split("/")[0],
      address6: c.address6!.split("/")[0],
      publicKey: keys.publicKey,
    };
  };
  const c1 = await register();
  const c2 = await register();

  await test.step("the internet is out of reach, the hub is not", async () => {
    const other = t.cli.spawn(wgcageArgv(["--config", c2.path, "--", "sleep", "30"]));
    try {
      const r = await inClient(
        t,
        c1.path,
        `curl -sS -m 3 http://${INET}:8080/ && echo reached; ping -c1 -W3 10.200.0.1 >/dev/null && ` +
          `for i in 1 2 3 4 5 6 7 8 9 10; do ping -c1 -W2 ${c2.address} >/dev/null && echo hub-ok && ` +
          `exit 0; sleep 1; done`,
      );
      assertEquals(r.stdout.trim(), "hub-ok", r.stderr);
      // IPv6 in the tunnel: the server's address and the other client's.
      const r6 = await inClient(
        t,
        c1.path,
        `ping -6 -c1 -W3 fd00:200::1 >/dev/null && echo server6-ok; ` +
          `for i in 1 2 3 4 5; do ping -6 -c1 -W2 ${c2.address6} >/dev/null && echo hub6-ok && ` +
          `exit 0; sleep 1; done`,
      );
      assertEquals(r6.stdout.trim().split("\n"), ["server6-ok", "hub6-ok"], r6.stderr);
    } finally {
      await other.stop();
    }
  });

  await test.step("the stock wg shows the server's peers", async () => {
    const r = await t.exit.run(["wg", "show", name, "peers"]);
    assertEquals(r.stdout.trim().split("\n").sort(), [c1.publicKey, c2.publicKey].sort());
  });
});

async function peersShown(runner: LiveRunner): Promise<string[]> {
  const r = await runner.wgcage(["show", "serve", "--json"]);
  assertEquals(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout).peers as { publicKey: string }[]).map((p) => p.publicKey);
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

function describe(pid: number): string {
  try {
    return `${pid} ${Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ")}`;
  } catch {
    return String(pid);
  }
}

async function descendants(pid: number): Promise<number[]> {
  const r = await run(["ps", "-e", "-o", "pid=,ppid="]);
  const children = new Map<number, number[]>();
  for (const line of r.stdout.trim().split("\n")) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

Deno.test("under sudo, a cage covers the invoking user's ~/.config/wgcage/servers: the command, run as that user, cannot read their token", async () => {
  requireRoot("e2e_serve_test (sudo)");
  await using lab = await Lab.open();
  const user = await makeTestUser();
  lab.defer(() => user.remove());
  // The user's home as passwd names it (useradd made none), with a server.
  const home = (await run(["getent", "passwd", user.name])).stdout.split(":")[5];
  const dir = `${home}/.config/wgcage/servers/work`;
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  lab.defer(() => Deno.remove(home, { recursive: true }));
  await Deno.writeTextFile(`${dir}/token`, "secret-token\n", { mode: 0o600 });
  for (const p of [home, `${home}/.config`, `${home}/.config/wgcage`, `${dir}/..`, dir]) {
    await Deno.chown(p, user.uid, user.gid);
  }
  await Deno.chown(`${dir}/token`, user.uid, user.gid);
  const ns = await lab.namespace("sudo");
  const { config } = await loopbackPeer(lab, ns);
  const r = await run([
    "env",
    ...Object.entries(sudoEnv(user)).map(([k, v]) => `${k}=${v}`),
    "HOME=/root",
    ...wgcageArgv([
      "--config",
      config,
      "--",
      "sh",
      "-c",
      `id -u; ls -A ${home}/.config/wgcage/servers | wc -l; cat ${dir}/token || true`,
    ]),
  ], { ns: ns.name, allowFailure: true, timeoutMs: 60_000 });
  assertEquals(r.code, 0, r.stderr);
  // It runs as the user (who could read their own token) and sees nothing.
  assertEquals(r.stdout.trim().split("\n"), [String(user.uid), "0"], r.stderr);
});

Deno.test("wgcage serve, rootless, with an IPv6 subnet: a client's IPv6 leaves through pasta with the exit host's IPv6 address", async () => {
  requireRoot("e2e_serve_test");
  for (const [tool, pkg] of [["pasta", "passt"], ["nft", "nftables"], ["curl", "curl"]]) {
    await requireTool(tool, pkg);
  }
  await using lab = await Lab.open();
  const t = await serveTopology(lab, { ipv6: true });
  const http = t.inet.spawn([
    Deno.execPath(),
    "eval",
    `Deno.serve({ hostname: "${INET6}", port: 8080, onListen() { console.log("ready"); } },
      (_r, info) => new Response(info.remoteAddr.hostname));`,
  ]);
  await http.waitForLine("ready", 20_000);
  const files = await serverFiles(lab);
  const runner = await liveRunner(lab, t.exit.name, true);
  const serve = t.exit.spawn(runner.argv([...serveArgv(t, files), "--subnet", "fd00:200::/64"]));
  await serve.waitForLine((l) => l.startsWith("wgcage: api "), 60_000);
  const { keys, c } = await registerKeys(t, files.token);
  assertEquals([c.address6, c.allowed_ips], ["fd00:200::2/128", ["0.0.0.0/0", "::/0"]]);
  const path = await writeClientConfig(lab, keys.privateKey, c, c.allowed_ips, "c6.conf");
  // The first IPv6 connection right after the server came up was reset once
  // in a loaded run (56: pasta's IPv6 side not ready yet; not explained):
  // a reset is tried again, at most twice; anything else fails at once.
  let r = await inClient(t, path, `curl -sS -m 10 http://[${INET6}]:8080/`);
  for (let i = 0; i < 2 && r.code === 56; i++) {
    await sleep(1000);
    r = await inClient(t, path, `curl -sS -m 10 http://[${INET6}]:8080/`);
  }
  assertEquals([r.code, r.stdout.trim()], [0, t.exitAddress6], r.stderr + serve.stderr);
});
