/**
 * Live cages end to end, as users run them: `up -d`, `exec`, `ls`, `down`,
 * `--rm-when-idle`, kill -9 of the keeper, another user's refusal, and the
 * stock `wg` against the control socket. The peer is a wireguard-go in a
 * namespace the test made, reached over that namespace's loopback.
 *
 * Needs root (namespaces, mknod for a private TUN node), wireguard-go and wg.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { run } from "./harness/process.ts";
import { clientArgv, parseClientReport } from "./harness/services.ts";
import { NOBODY, wgcageArgv } from "./e2e/wgcage.ts";
import { liveLab, liveRunner } from "./harness/live.ts";
import { makeTestUser } from "./cage/test_user.ts";
import { assert } from "./cage/assert.ts";

/** Connects to a control socket and asks `get=1`; prints `refused …` when it cannot. */
const PROBE = [
  "import socket, sys",
  "s = socket.socket(socket.AF_UNIX)",
  "try:",
  "    s.connect(sys.argv[1]); s.sendall(b'get=1\\n\\n'); print(s.recv(4096))",
  "except OSError as e:",
  "    print('refused', e)",
].join("\n");

const runner = liveRunner;
const lab10 = liveLab;

function entries(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch {
    return [];
  }
}

for (const rootless of [false, true]) {
  const who = rootless ? "nobody" : "root";
  Deno.test(`live cage (${who}): up -d, exec (links, uid, DNS, 10 MiB, status), ls, down, nothing left`, async () => {
    requireRoot("The live cage test");
    await requireTool("wireguard-go", "wireguard-go");
    const lab = await Lab.open();
    try {
      const { ns, namespace, config } = await lab10(lab, `live${who[0]}`, rootless ? NOBODY : 0);
      const w = await runner(lab, ns, rootless);
      const name = cageName(`lt${who[0]}`);
      const up = await w.wgcage(["up", name, "-d", "--config", config]);
      assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
      const ls = await w.wgcage(["ls", "--json"]);
      const listed = JSON.parse(ls.stdout) as {
        name: string;
        pid: number;
        initPid: number;
        listenPort: number;
      }[];
      assert(listed.some((c) => c.name === name), `ls --json: ${ls.stdout}`);

      const inside = await w.wgcage([
        "exec",
        name,
        "--",
        "sh",
        "-c",
        "id -u; ip -o link | grep -c ': '; cat /etc/resolv.conf; getent hosts peer.live.test; echo pid $$; exit 7",
      ]);
      assert(inside.code === 7, `exec exited ${inside.code}: ${inside.stderr}`);
      const uid = rootless ? String(NOBODY) : "0";
      assert(inside.stdout.startsWith(`${uid}\n2\n`), `uid and links: ${inside.stdout}`);
      assert(inside.stdout.includes("nameserver 10.97.0.1"), `resolv.conf: ${inside.stdout}`);
      assert(/10\.97\.0\.1\s+peer\.live\.test/.test(inside.stdout), `DNS: ${inside.stdout}`);
      assert(/pid \d+/.test(inside.stdout) && !inside.stdout.includes("pid 1\n"), inside.stdout);

      const fetch = await w.wgcage([
        "exec",
        name,
        "--",
        ...clientArgv("data", "10.97.0.1", { bytes: 10 << 20 }),
      ], { timeoutMs: 120_000 });
      const report = parseClientReport(fetch);
      assert(report.ok && report.bytes === 10 << 20, `10 MiB fetch: ${JSON.stringify(report)}`);

      if (!rootless) {
        // Ctrl-C (SIGINT to wgcage exec) reaches the command, whose status is returned.
        const script = `trap 'echo got INT; exit 4' INT; echo ready; while :; do sleep 0.05; done`;
        const p = namespace.spawn(wgcageArgv(["exec", name, "--", "sh", "-c", script]));
        await p.waitForLine("ready", 20_000);
        p.signal("SIGINT");
        const s = await p.status;
        assert(s.code === 4 && p.stdout.includes("got INT"), `Ctrl-C: ${s.code} ${p.stdout}`);

        // From the keeper's network namespace: the control socket serves no other.
        const show = await run(["wg", "show", name], { ns, allowFailure: true });
        assert(show.code === 0, `wg show: ${show.stderr}`);
        // "Now" within a second of the handshake: 10 MiB may take less than that.
        assert(
          /latest handshake: (Now|.*seconds? ago)/.test(show.stdout),
          `wg show: ${show.stdout}`,
        );
        assert(/transfer: [0-9.]+ MiB received/.test(show.stdout), `wg show: ${show.stdout}`);

        // Datagrams the core drops are counted by reason in 'wgcage show', not in get=1.
        const port = listed.find((c) => c.name === name)!.listenPort;
        const junk = "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n" +
          `for i in range(3): s.sendto(bytes([4, 0, 0, 0, 9, 9, 9, 9]) + bytes(40), ('127.0.0.1', ${port}))\n` +
          `s.sendto(bytes([1, 0, 0, 0]) + bytes(144), ('127.0.0.1', ${port}))`;
        await run(["python3", "-c", junk], { ns });
        let dropped: Record<string, number> = {};
        for (let i = 0; i < 50 && Object.values(dropped).reduce((a, b) => a + b, 0) < 4; i++) {
          await new Promise((r) => setTimeout(r, 100));
          const j = await w.wgcage(["show", name, "--json"]);
          assert(j.code === 0, `show --json: ${j.stderr}`);
          dropped = JSON.parse(j.stdout).dropped;
        }
        assert(
          dropped.unknown_index >= 3 && dropped.bad_mac1 >= 1,
          `dropped: ${JSON.stringify(dropped)}`,
        );
        const text = await w.wgcage(["show", name]);
        assert(
          /dropped packets: \n(.*\n)* {4}unknown index: [0-9]+/.test(text.stdout),
          `show: ${text.stdout}`,
        );
        const dump = await run(["wg", "show", name, "dump"], { ns, allowFailure: true });
        assert(dump.code === 0 && !dump.stdout.includes("unknown"), `wg show dump: ${dump.stdout}`);
      }

      const down = await w.wgcage(["down", name]);
      assert(down.code === 0, `down exited ${down.code}: ${down.stderr}`);
      assert(!(entries(w.stateDir)).some((e) => e.startsWith(name)), "state left behind");
      assert(!(entries("/var/run/wireguard")).includes(`${name}.sock`), "wg link left");
      const after = await w.wgcage(["exec", name, "--", "true"]);
      assert(
        after.code === 125 && after.stderr.includes(`No live cage named '${name}'`),
        after.stderr,
      );
    } finally {
      await lab.close();
    }
  });
}

Deno.test("live cage (nobody): --rm-when-idle ends the cage with its last command", async () => {
  requireRoot("The live cage test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const { ns, config } = await lab10(lab, "liveidle", NOBODY);
    const w = await runner(lab, ns, true);
    const name = cageName("li");
    const up = await w.wgcage(["up", name, "-d", "--rm-when-idle", "--config", config]);
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    const [a, b] = await Promise.all([
      w.wgcage(["exec", name, "--", "sh", "-c", "sleep 0.5; exit 3"]),
      w.wgcage(["exec", name, "--", "sh", "-c", "sleep 1; exit 4"]),
    ]);
    assert(a.code === 3 && b.code === 4, `exec: ${a.code} ${a.stderr} / ${b.code} ${b.stderr}`);
    let ls = "";
    for (let i = 0; i < 50; i++) {
      ls = (await w.wgcage(["ls", "--json"])).stdout;
      if (ls.trim() === "[]") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert(ls.trim() === "[]", `still live after the last command: ${ls}`);
    assert((entries(w.stateDir)).length === 0, "state left behind");
  } finally {
    await lab.close();
  }
});

Deno.test("live cage (root): kill -9 of the keeper ends the cage and its commands; the next command removes the state", async () => {
  requireRoot("The live cage test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const { ns, config } = await lab10(lab, "livekill", 0);
    const w = await runner(lab, ns, false);
    const name = cageName("lk");
    const up = await w.wgcage(["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    const record = JSON.parse(await Deno.readTextFile(`${w.stateDir}/${name}.json`));
    const sleeper = run(wgcageArgv(["exec", name, "--", "sleep", "60"]), {
      ns,
      allowFailure: true,
      timeoutMs: 30_000,
    });
    await new Promise((r) => setTimeout(r, 500));
    Deno.kill(record.pid, "SIGKILL");
    const s = await sleeper;
    assert(s.code === 137, `the command in the cage was not ended: ${s.code} ${s.stderr}`);
    for (let i = 0; i < 50 && (entries(`/proc/${record.initPid}`)).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert((entries(`/proc/${record.initPid}`)).length === 0, "the cage's init still runs");
    const ls = await w.wgcage(["ls", "--json"]);
    assert(!ls.stdout.includes(name), `ls: ${ls.stdout}`);
    assert(!(entries(w.stateDir)).some((e) => e.startsWith(name)), "state left behind");
    assert(!(entries("/var/run/wireguard")).includes(`${name}.sock`), "wg link left");
  } finally {
    await lab.close();
  }
});

Deno.test("live cage: another user can neither see nor join a cage", async () => {
  requireRoot("The live cage test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const { ns, config } = await lab10(lab, "liveuser", 0);
    const w = await runner(lab, ns, false);
    const name = cageName("lu");
    const up = await w.wgcage(["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    try {
      const other = await runner(lab, ns, true);
      const r = await other.wgcage(["exec", name, "--", "true"]);
      assert(r.code === 125 && r.stderr.includes("No live cage"), `joined: ${r.code} ${r.stderr}`);
      // Even given the socket directly, it is refused (0700 directory, SO_PEERCRED).
      const probe = await run([
        "setpriv",
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        "/usr/bin/python3",
        "-c",
        PROBE,
        `${w.stateDir}/${name}.sock`,
      ], { allowFailure: true });
      assert(
        probe.stdout.startsWith("refused"),
        `another user reached the device: ${probe.stdout} ${probe.stderr}`,
      );
    } finally {
      await w.wgcage(["down", name]);
    }
  } finally {
    await lab.close();
  }
});

Deno.test("live cage (root): foreground up ended with Ctrl-C; a name in use; exec through sudo runs as that user; an unknown name lists the live ones", async () => {
  requireRoot("The live cage test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  const user = await makeTestUser();
  try {
    const { ns, namespace, config } = await lab10(lab, "livefg", 0);
    const w = await runner(lab, ns, false);
    const name = cageName("lf");
    const keeper = namespace.spawn(wgcageArgv(["up", name, "--config", config]));
    let listed = "";
    for (let i = 0; i < 200 && !listed.includes(`"${name}"`) && !keeper.exited; i++) {
      await new Promise((r) => setTimeout(r, 100));
      listed = (await w.wgcage(["ls", "--json"])).stdout;
    }
    assert(listed.includes(`"${name}"`), `foreground up: ${listed} ${keeper.stderr}`);
    assert(keeper.stderr.includes(`cage '${name}' is up`), `up says: ${keeper.stderr}`);

    const again = await w.wgcage(["up", name, "-d", "--config", config]);
    const againLines = again.stderr.trim().split("\n");
    assert(
      again.code === 125 && againLines.length === 1 &&
        againLines[0].includes(`A cage named '${name}' is up already`),
      `up with a name in use: ${again.code} ${again.stderr}`,
    );

    const sudo = [`SUDO_UID=${user.uid}`, `SUDO_GID=${user.gid}`, `SUDO_USER=${user.name}`];
    const asUser = await run(
      [
        "env",
        "-C",
        "/",
        ...sudo,
        ...wgcageArgv(["exec", name, "--", "sh", "-c", "id -u; id -g; id -G"]),
      ],
      { ns, allowFailure: true },
    );
    assert(asUser.code === 0, `exec through sudo: ${asUser.code} ${asUser.stderr}`);
    const [uid, gid, groups] = asUser.stdout.trim().split("\n");
    assert(
      uid === String(user.uid) && gid === String(user.gid) &&
        groups.split(" ").includes(String(user.group)),
      `exec through sudo runs as ${asUser.stdout}; expected ${user.uid}/${user.gid}/${user.group}`,
    );

    const unknown = await w.wgcage(["exec", "nosuchcage", "--", "true"]);
    const unknownLines = unknown.stderr.trim().split("\n");
    assert(
      unknown.code === 125 && unknownLines.length === 1 &&
        unknownLines[0].includes("No live cage named 'nosuchcage'") &&
        unknownLines[0].includes(`live ones: `) && unknownLines[0].includes(name),
      `an unknown name: ${unknown.code} ${unknown.stderr}`,
    );

    keeper.signal("SIGINT");
    const s = await keeper.status;
    assert(s.code === 0, `foreground up after Ctrl-C: ${s.code} ${keeper.stderr}`);
    assert(!(entries(w.stateDir)).some((e) => e.startsWith(name)), "state left behind");
    assert(!(entries("/var/run/wireguard")).includes(`${name}.sock`), "wg link left");
    const ls = await w.wgcage(["ls", "--json"]);
    assert(!ls.stdout.includes(name), `ls after Ctrl-C: ${ls.stdout}`);
  } finally {
    await user.remove();
    await lab.close();
  }
});
