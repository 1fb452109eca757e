/**
 * `wgcage exec` against hostile neighbours: a forged state record does not
 * move where a command lands (the namespaces come from the keeper); the
 * control socket serves no process of a cage or of another network
 * namespace, even one given the socket file; `up --config-env VAR` keeps VAR
 * from joined commands; a stuck keeper gives a one-line error, or yields to
 * Ctrl-C and SIGTERM at once; through sudo, exec into a --root cage is its
 * root (the sudo user on the host), as a run is.
 *
 * Needs root (namespaces, mknod for a private TUN node), wireguard-go and
 * python3 (/usr/bin/python3, which the unprivileged user can run).
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { cageName } from "./harness/names.ts";
import { run } from "./harness/process.ts";
import { NOBODY, wgcageArgv } from "./e2e/wgcage.ts";
import { liveLab, liveRunner } from "./harness/live.ts";
import { makeTestUser } from "./cage/test_user.ts";
import { assert } from "./cage/assert.ts";

/** Connects to a control socket, asks `get=1` and prints what came back (or `refused …`). */
const PROBE = [
  "import socket, sys",
  "s = socket.socket(socket.AF_UNIX)",
  "try:",
  "    s.connect(sys.argv[1]); s.sendall(b'get=1\\n\\n'); s.settimeout(5)",
  "    print('reply', repr(s.recv(65536)))",
  "except OSError as e:",
  "    print('refused', e)",
].join("\n");

function oneLine(stderr: string): string | undefined {
  const lines = stderr.trim().split("\n");
  return lines.length === 1 ? lines[0] : undefined;
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      Deno.statSync(`/proc/${pid}`);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`process ${pid} still runs`);
}

function asUser(rootless: boolean, argv: string[]): string[] {
  return rootless
    ? ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", ...argv]
    : argv;
}

for (const rootless of [true, false]) {
  const who = rootless ? "nobody" : "root";
  Deno.test(`live cage (${who}): a forged initPid in the record does not move exec; a garbled or deleted record is one line`, async () => {
    requireRoot("The live exec test");
    await requireTool("wireguard-go", "wireguard-go");
    const lab = await Lab.open();
    let keeper = 0;
    try {
      const { ns, config } = await liveLab(lab, `lx${who[0]}`, rootless ? NOBODY : 0);
      const w = await liveRunner(lab, ns, rootless);
      const name = cageName(`lx${who[0]}`);
      const up = await w.wgcage(["up", name, "-d", "--config", config]);
      assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
      const recordPath = `${w.stateDir}/${name}.json`;
      const record = JSON.parse(await Deno.readTextFile(recordPath));
      keeper = record.pid;

      // The attacker's own process, in a network namespace with nothing but lo.
      const decoy = lab.spawn(
        asUser(rootless, [
          "unshare",
          rootless ? "-rn" : "-n",
          "sh",
          "-c",
          "echo $$; exec sleep 60",
        ]),
      );
      const decoyPid = Number(await decoy.waitForLine(/^\d+$/, 10_000));
      await Deno.writeTextFile(recordPath, JSON.stringify({ ...record, initPid: decoyPid }));

      const inside = await w.wgcage(["exec", name, "--", "ip", "-o", "addr"]);
      assert(inside.code === 0, `exec exited ${inside.code}: ${inside.stderr}`);
      assert(
        inside.stdout.includes("10.97.0.2/24"),
        `exec did not land in the cage (its tunnel's address is missing): ${inside.stdout}`,
      );

      await Deno.writeTextFile(recordPath, '{"name": "garbled');
      const garbled = await w.wgcage(["exec", name, "--", "true"]);
      const garbledLine = oneLine(garbled.stderr);
      assert(
        garbled.code === 125 && garbledLine?.includes(`No live cage named '${name}'`),
        `a garbled record: ${garbled.code} ${garbled.stderr}`,
      );
      await Deno.remove(recordPath).catch(() => {});
      const deleted = await w.wgcage(["exec", name, "--", "true"]);
      const deletedLine = oneLine(deleted.stderr);
      assert(
        deleted.code === 125 && deletedLine?.includes(`No live cage named '${name}'`),
        `a deleted record: ${deleted.code} ${deleted.stderr}`,
      );
    } finally {
      // The record is gone: 'down' cannot find the keeper; end it by its pid.
      if (keeper > 0) {
        try {
          Deno.kill(keeper, "SIGTERM");
          await waitGone(keeper);
        } catch {
          // ended
        }
      }
      await lab.close();
    }
  });

  Deno.test(`live cage (${who}): the control socket refuses a command in the cage and a process in another network namespace, given the socket file; serves one in the keeper's`, async () => {
    requireRoot("The live exec test");
    await requireTool("wireguard-go", "wireguard-go");
    const lab = await Lab.open();
    try {
      const { ns, config } = await liveLab(lab, `ls${who[0]}`, rootless ? NOBODY : 0);
      const w = await liveRunner(lab, ns, rootless);
      const name = cageName(`ls${who[0]}`);
      const up = await w.wgcage(["up", name, "-d", "--config", config]);
      assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
      try {
        const sock = `${w.stateDir}/${name}.sock`;
        // A second name for the socket, outside the state directory (which a
        // cage may not even see): only the keeper's own check stands.
        // (On the state directory's file system: a hard link.)
        const aliasDir = await Deno.makeTempDir({
          dir: rootless ? "/tmp" : "/run",
          prefix: "wgc-alias-",
        });
        lab.defer(() => Deno.remove(aliasDir, { recursive: true }));
        if (rootless) await Deno.chown(aliasDir, NOBODY, NOBODY);
        await Deno.chmod(aliasDir, 0o700);
        const alias = `${aliasDir}/alias.sock`;
        await Deno.link(sock, alias);

        const served = await run(asUser(rootless, ["/usr/bin/python3", "-c", PROBE, alias]), {
          ns,
          allowFailure: true,
        });
        assert(
          served.stdout.includes("private_key="),
          `the keeper's own namespace is not served: ${served.stdout} ${served.stderr}`,
        );

        const caged = await w.wgcage(["exec", name, "--", "/usr/bin/python3", "-c", PROBE, alias]);
        assert(caged.code === 0, `exec exited ${caged.code}: ${caged.stderr}`);
        assert(
          /^(reply b''|refused)/.test(caged.stdout) && !caged.stdout.includes("private_key"),
          `a command in the cage reached the device: ${caged.stdout}`,
        );
        const setInCage = await w.wgcage([
          "exec",
          name,
          "--",
          "/usr/bin/python3",
          "-c",
          PROBE.replace("get=1", "set=1\\nlisten_port=4321"),
          alias,
        ]);
        assert(
          !setInCage.stdout.includes("errno=0"),
          `a command in the cage changed the device: ${setInCage.stdout}`,
        );

        const elsewhere = await run(
          asUser(rootless, [
            "unshare",
            rootless ? "-rn" : "-n",
            "/usr/bin/python3",
            "-c",
            PROBE,
            alias,
          ]),
          { ns, allowFailure: true },
        );
        assert(
          /^(reply b''|refused)/.test(elsewhere.stdout) &&
            !elsewhere.stdout.includes("private_key"),
          `another network namespace reached the device: ${elsewhere.stdout} ${elsewhere.stderr}`,
        );
        const port = await run(asUser(rootless, ["/usr/bin/python3", "-c", PROBE, alias]), {
          ns,
          allowFailure: true,
        });
        assert(!port.stdout.includes("listen_port=4321"), `listen port changed: ${port.stdout}`);

        // wgcage itself in another network namespace (the host's): one line each, 125.
        for (const args of [["show", name], ["exec", name, "--", "true"]]) {
          const r = await run(w.argv(args), { allowFailure: true });
          const lines = r.stderr.trim().split("\n");
          assert(
            r.code === 125 && lines.length === 1 && lines[0].includes("network namespace"),
            `${args[0]} from another network namespace: ${r.code} ${r.stderr}`,
          );
        }
      } finally {
        await w.wgcage(["down", name]);
      }
    } finally {
      await lab.close();
    }
  });
}

Deno.test("live cage (nobody): exec leaves out the variable 'up --config-env' read the config from", async () => {
  requireRoot("The live exec test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const { ns, configText } = await liveLab(lab, "lenv", NOBODY);
    const w = await liveRunner(lab, ns, true);
    const name = cageName("le");
    const up = await w.wgcage(["up", name, "-d", "--config-env", "WG_CONF"], {
      env: { WG_CONF: configText },
    });
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    try {
      // A job-wide variable: every later step of the job has it too.
      const r = await w.wgcage(
        ["exec", name, "--", "sh", "-c", 'echo "[${WG_CONF-unset}] [$OTHER]"'],
        { env: { WG_CONF: configText, OTHER: "kept" } },
      );
      assert(r.code === 0, `exec exited ${r.code}: ${r.stderr}`);
      assert(r.stdout.trim() === "[unset] [kept]", `the command got: ${r.stdout}`);
    } finally {
      await w.wgcage(["down", name]);
    }
  } finally {
    await lab.close();
  }
});

Deno.test("live cage (root): exec gives up on a stuck keeper with one line, and ends at once on Ctrl-C or SIGTERM", async () => {
  requireRoot("The live exec test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const { ns, namespace, config } = await liveLab(lab, "lstuck", 0);
    const w = await liveRunner(lab, ns, false);
    const name = cageName("lk");
    const up = await w.wgcage(["up", name, "-d", "--config", config]);
    assert(up.code === 0, `up -d exited ${up.code}: ${up.stderr}`);
    const record = JSON.parse(await Deno.readTextFile(`${w.stateDir}/${name}.json`));
    Deno.kill(record.pid, "SIGSTOP");
    try {
      const started = Date.now();
      const r = await w.wgcage(["exec", name, "--", "true"], { timeoutMs: 30_000 });
      const took = Date.now() - started;
      const line = oneLine(r.stderr);
      assert(
        r.code === 125 && line?.includes("did not answer within 10 s") && took < 20_000,
        `a stuck keeper: ${r.code} after ${took} ms: ${r.stderr}`,
      );
      for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
        const p = namespace.spawn(w.argv(["exec", name, "--", "true"]));
        await new Promise((r) => setTimeout(r, 1500));
        const sent = Date.now();
        p.signal(sig);
        const s = await p.status;
        const after = Date.now() - sent;
        assert(s.code === code && after < 2000, `${sig}: ${s.code} after ${after} ms`);
      }
    } finally {
      Deno.kill(record.pid, "SIGCONT");
      await w.wgcage(["down", name]);
    }
  } finally {
    await lab.close();
  }
});

Deno.test("live cage (root): the keeper's -v names a client it refused", async () => {
  requireRoot("The live exec test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const { ns, namespace, config } = await liveLab(lab, "lverb", 0);
    const w = await liveRunner(lab, ns, false);
    const name = cageName("lv");
    const keeper = namespace.spawn(w.argv(["up", name, "-v", "--config", config]));
    for (let i = 0; i < 300 && !keeper.stderr.includes(`cage '${name}' is up`); i++) {
      if (keeper.exited) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert(keeper.stderr.includes(`cage '${name}' is up`), `up -v: ${keeper.stderr}`);
    const probe = await run(
      ["unshare", "-n", "/usr/bin/python3", "-c", PROBE, `${w.stateDir}/${name}.sock`],
      { ns, allowFailure: true },
    );
    assert(!probe.stdout.includes("private_key"), `served: ${probe.stdout}`);
    for (let i = 0; i < 50 && !keeper.stderr.includes("control socket: refused pid"); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert(
      /control socket: refused pid \d+ \(in another network or user namespace/.test(
        keeper.stderr,
      ),
      `-v: ${keeper.stderr}`,
    );
    keeper.signal("SIGINT");
    const s = await keeper.status;
    assert(s.code === 0, `up after Ctrl-C: ${s.code} ${keeper.stderr}`);
  } finally {
    await lab.close();
  }
});

Deno.test("live cage (sudo): exec into a --root cage runs as its root, the sudo user on the host, as a run does", async () => {
  requireRoot("The live exec test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  const user = await makeTestUser();
  try {
    const { ns, config } = await liveLab(lab, "lsudo", 0);
    const sudo = ["env", "-C", "/", `SUDO_UID=${user.uid}`, `SUDO_GID=${user.gid}`];
    const name = cageName("lr");
    const up = await run(
      [...sudo, ...wgcageArgv(["up", name, "-d", "--root", "--config", config])],
      {
        ns,
        allowFailure: true,
      },
    );
    assert(up.code === 0, `up -d --root through sudo: ${up.code} ${up.stderr}`);
    try {
      const script = "id -u; id -g; tr -s ' ' < /proc/self/uid_map";
      const r = await run([...sudo, ...wgcageArgv(["exec", name, "--", "sh", "-c", script])], {
        ns,
        allowFailure: true,
      });
      assert(r.code === 0, `exec: ${r.code} ${r.stderr}`);
      const [uid, gid, map] = r.stdout.trim().split("\n");
      assert(
        uid === "0" && gid === "0" && map.trim() === `0 ${user.uid} 1`,
        `exec into a --root cage through sudo: ${r.stdout}`,
      );
    } finally {
      await run(wgcageArgv(["down", name]), { ns, allowFailure: true });
    }
  } finally {
    await user.remove();
    await lab.close();
  }
});
