/**
 * The CLI's words, as a new user meets them: wgcage run as a subprocess, its
 * stdout, stderr and exit status checked. None of these needs a cage: each
 * ends before one is made (or is help).
 *
 * @module
 */

import { loopbackPeer, NOBODY, nobodyArgv, wgcageArgv, wgQuick } from "./e2e/wgcage.ts";
import { generateKeyPair } from "./harness/keys.ts";
import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { run } from "./harness/process.ts";
import { cageName } from "./harness/names.ts";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function wgcage(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Result> {
  const [cmd, ...rest] = wgcageArgv(args);
  const out = await new Deno.Command(cmd, {
    args: rest,
    env: { NO_COLOR: "1", ...opts.env },
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Asserts wgcage's one line on stderr and its status. */
function expectLine(r: Result, code: number, line: RegExp): void {
  const lines = r.stderr.trimEnd().split("\n");
  if (r.code !== code || lines.length !== 1 || !line.test(lines[0])) {
    throw new Error(`expected ${code} and one line ${line}, got ${r.code}:\n${r.stderr}`);
  }
}

Deno.test("after a run option, a word named like a subcommand is the command to run", async () => {
  // The command is looked up and the config read: the run form, not 'ls NAME'.
  for (const sub of ["ls", "show", "exec", "wg", "version"]) {
    // Only ls is a program here: the others show the way to the subcommand.
    const env = sub === "ls" ? undefined : { PATH: "/nonexistent" };
    const r = await wgcage(["--config", "/nonexistent/c.conf", sub, "/tmp"], { env });
    if (sub === "ls") {
      expectLine(r, 125, /^wgcage: Cannot read config file '\/nonexistent\/c\.conf': no such file/);
    } else {
      expectLine(
        r,
        127,
        new RegExp(
          `^wgcage: Cannot run '${sub}': command not found; to use 'wgcage ${sub}', give it first and its options after it \\(wgcage's options end at the first word that is not an option\\)`,
        ),
      );
    }
  }
  const up = await wgcage(["--config", "c.conf", "up", "ci"], { env: { PATH: "/nonexistent" } });
  expectLine(up, 127, /e\.g\. 'wgcage up NAME --config FILE'$/);
  // `wgcage -v demo` without a program named demo: the way to the demo, -v after it.
  const demo = await wgcage(["-v", "demo"], { env: { PATH: "/nonexistent" } });
  expectLine(
    demo,
    127,
    /^wgcage: Cannot run 'demo': command not found; .* e\.g\. 'wgcage demo -v'$/,
  );
});

Deno.test("a directory is 126 'is a directory'; a script's missing #! interpreter is named, 127", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgc-words-" });
  try {
    const r = await wgcage(["--config", "c.conf", "--", dir]);
    expectLine(
      r,
      126,
      /^wgcage: Cannot run '[^']+': it is a directory; give the program inside it$/,
    );
    const script = `${dir}/script`;
    await Deno.writeTextFile(script, "#!/nonexistent/interp -x\necho hi\n", { mode: 0o755 });
    const s = await wgcage(["--config", "c.conf", "--", script]);
    expectLine(
      s,
      127,
      /^wgcage: Cannot run '[^']+\/script': its interpreter '\/nonexistent\/interp' \(from its #! line\) is not found; install it or fix the #! line$/,
    );
    // Along PATH too.
    const p = await wgcage(["--config", "c.conf", "--", "script"], {
      env: { PATH: `${dir}:/usr/bin:/bin` },
    });
    expectLine(p, 127, /^wgcage: Cannot run 'script': its interpreter '\/nonexistent\/interp'/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("help per subcommand: 'help up', 'up --help', 'genkey --help', 'exec NAME -h'", async () => {
  for (
    const [args, first] of [
      [["help", "up"], "Usage: wgcage up NAME"],
      [["up", "--help"], "Usage: wgcage up NAME"],
      [["up", "ci", "--config", "c.conf", "-h"], "Usage: wgcage up NAME"],
      [["genkey", "--help"], "Usage: wgcage genkey"],
      [["help", "genpsk"], "Usage: wgcage genpsk"],
      [["exec", "ci", "--help"], "Usage: wgcage exec [-v] NAME"],
      [["ls", "-h"], "Usage: wgcage ls"],
    ] as const
  ) {
    const r = await wgcage([...args]);
    if (r.code !== 0 || !r.stdout.startsWith(first) || r.stderr !== "") {
      throw new Error(`${args.join(" ")}: ${r.code}\n${r.stdout}\n${r.stderr}`);
    }
  }
  const usage = await wgcage(["--help"]);
  if (!/a word named like a subcommand/.test(usage.stdout)) throw new Error(usage.stdout);
});

Deno.test("did you mean: subcommand typos, a long option with one dash; exec takes no options", async () => {
  const env = { PATH: "/usr/bin:/bin" };
  expectLine(
    await wgcage(["lss"], { env }),
    127,
    /^wgcage: Cannot run 'lss': command not found; did you mean 'wgcage ls'\?$/,
  );
  expectLine(
    await wgcage(["exce", "ci", "--", "true"], { env }),
    127,
    /did you mean 'wgcage exec'\?$/,
  );
  expectLine(
    await wgcage(["-config", "wg0.conf", "--", "true"]),
    125,
    /^wgcage: Unknown option '-config'; did you mean '--config'\?$/,
  );
  expectLine(
    await wgcage(["exec", "ci", "-p", "8080:80", "--", "true"]),
    125,
    /^wgcage: 'exec' takes no options \('-p'\): options such as -p belong to 'wgcage up ci …'/,
  );
});

Deno.test("no config: the three ways to give one; 'up wg0.conf' shows 'up NAME --config FILE'", async () => {
  expectLine(
    await wgcage(["--", "true"]),
    125,
    /^wgcage: No config: give --config FILE, --config-env VAR or the --wg-\* flags \(see 'wgcage help config'\)$/,
  );
  expectLine(
    await wgcage(["up", "wg0.conf"]),
    125,
    /^wgcage: 'up' takes the cage's name, then the config: 'wgcage up wg0 --config wg0\.conf'$/,
  );
});

Deno.test("--config NAME (no such file here) reads /etc/wireguard/NAME.conf, as wg-quick does", async () => {
  if (Deno.uid() !== 0) throw new Error("This test needs root (it writes in /etc/wireguard)");
  const name = `wgcw${Deno.pid % 100000}`;
  const cwd = await Deno.makeTempDir({ prefix: "wgc-words-" });
  const made = await Deno.mkdir("/etc/wireguard", { mode: 0o700 }).then(() => true, () => false);
  const path = `/etc/wireguard/${name}.conf`;
  try {
    // A config without [Peer]: its error names the file that was read.
    await Deno.writeTextFile(path, "[Interface]\nAddress = 10.0.0.2/32\n", { mode: 0o600 });
    expectLine(
      await wgcage(["--config", name, "--", "true"], { cwd }),
      125,
      new RegExp(`^wgcage: /etc/wireguard/${name}\\.conf(:\\d+:)? .*PrivateKey`),
    );
    await Deno.remove(path);
    expectLine(
      await wgcage(["--config", name, "--", "true"], { cwd }),
      125,
      new RegExp(
        `^wgcage: Cannot read config file '${name}': no such file here, nor /etc/wireguard/${name}\\.conf`,
      ),
    );
    const help = await wgcage(["--help"]);
    if (!help.stdout.includes("/etc/wireguard/wg0.conf (as wg-quick does)")) {
      throw new Error(help.stdout);
    }
  } finally {
    await Deno.remove(path).catch(() => {});
    if (made) await Deno.remove("/etc/wireguard").catch(() => {});
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("--config-env holding a path or base64 says so, without showing the value", async () => {
  const path = await wgcage(["--config-env", "WGC_WORDS", "--", "true"], {
    env: { WGC_WORDS: "/etc/wireguard/secret-name.conf" },
  });
  expectLine(
    path,
    125,
    /^wgcage: Environment variable WGC_WORDS holds a path, not the config text; give the file with --config FILE/,
  );
  const conf = "[Interface]\nPrivateKey = aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28=\n";
  const packed = await wgcage(["--config-env", "WGC_WORDS", "--", "true"], {
    env: { WGC_WORDS: btoa(conf) },
  });
  expectLine(
    packed,
    125,
    /^wgcage: Environment variable WGC_WORDS holds the config in base64; decode it first: /,
  );
  for (const r of [path, packed]) {
    if (/secret-name|aGVsbG8|W0ludGVyZmFjZV0/.test(r.stderr)) throw new Error(r.stderr);
  }
});

Deno.test("genkey and genpsk into a file every user may read warn, as wg genkey does; private or piped, no warning", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgc-words-" });
  const sh = async (umask: string, sub: string) => {
    const line = `umask ${umask}; exec "$@" > ${dir}/${sub}-${umask}`;
    const [cmd, ...rest] = ["sh", "-c", line, "sh", ...wgcageArgv([sub])];
    const out = await new Deno.Command(cmd, { args: rest, stderr: "piped" }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  try {
    for (const sub of ["genkey", "genpsk"]) {
      const open = await sh("022", sub);
      expectLine(
        { ...open, stdout: "" },
        0,
        new RegExp(
          `^wgcage: Warning: the key goes to a file every user may read \\(mode 0644\\); make keys with umask 077: \\(umask 077; wgcage ${sub} > file\\)$`,
        ),
      );
      if ((await Deno.readTextFile(`${dir}/${sub}-022`)).length !== 45) throw new Error("no key");
      const closed = await sh("077", sub);
      if (closed.code !== 0 || closed.stderr !== "") throw new Error(closed.stderr);
      const piped = await wgcage([sub]);
      if (piped.code !== 0 || piped.stderr !== "" || piped.stdout.length !== 45) {
        throw new Error(piped.stderr);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a config others may read: the chmod hint goes to its owner only; another user is told whose it is", async () => {
  if (Deno.uid() !== 0) throw new Error("This test needs root (it runs wgcage as another user)");
  const dir = await Deno.makeTempDir({ prefix: "wgc-words-" });
  try {
    await Deno.chmod(dir, 0o755);
    const denoDir = `${dir}/deno`;
    await Deno.mkdir(denoDir);
    await Deno.chown(denoDir, NOBODY, NOBODY);
    const [ours, peer] = [await generateKeyPair(), await generateKeyPair()];
    const config = `${dir}/wg0.conf`;
    await Deno.writeTextFile(
      config,
      wgQuick({ privateKey: ours.privateKey, addresses: ["10.99.0.2/32"] }, [{
        publicKey: peer.publicKey,
        allowedIps: ["10.99.0.0/24"],
        endpoint: "127.0.0.1:9",
      }]),
    );
    await Deno.chmod(config, 0o644);
    // As nobody: root's file; wgcage goes on (whether the cage can be made
    // here does not matter: the warning comes first).
    const [cmd, ...rest] = nobodyArgv(
      denoDir,
      wgcageArgv(["--config", config, "--handshake-timeout", "0", "--", "true"]),
    );
    const out = await new Deno.Command(cmd, { args: rest, stdin: "null", stderr: "piped" })
      .output();
    const stderr = new TextDecoder().decode(out.stderr);
    const warning = stderr.split("\n").find((l) => l.includes("is accessible by other users"));
    if (
      warning !==
        `wgcage: Warning: '${config}' is accessible by other users (mode 0644); its owner, uid 0, should make it private (chmod 600)`
    ) throw new Error(stderr);
    // Its owner is told to chmod it (the run fails later: no peer answers in 1 s).
    const own = await wgcage(["--config", config, "--handshake-timeout", "1", "--", "true"]);
    if (!own.stderr.includes(`; run 'chmod 600 ${config}' to keep its keys private`)) {
      throw new Error(own.stderr);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a run warns, one line each: proxy variables passing in, --keep-socket without --hide-sockets, --no-userns", async () => {
  if (Deno.uid() !== 0) throw new Error("This test needs root (--no-userns is root's)");
  const dir = await Deno.makeTempDir({ prefix: "wgc-words-" });
  const socket = Deno.listen({ transport: "unix", path: `${dir}/kept.sock` });
  try {
    const [ours, peer] = [await generateKeyPair(), await generateKeyPair()];
    const config = `${dir}/wg0.conf`;
    await Deno.writeTextFile(
      config,
      wgQuick({ privateKey: ours.privateKey, addresses: ["10.99.0.2/32"], dns: ["10.99.0.1"] }, [{
        publicKey: peer.publicKey,
        allowedIps: ["10.99.0.0/24"],
        endpoint: "127.0.0.1:9",
      }]),
      { mode: 0o600 },
    );
    const env = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      http_proxy: "http://proxy.example:3128",
      HTTPS_PROXY: "http://127.0.0.1:3128",
    };
    const base = ["--config", config, "--handshake-timeout", "0"];
    const warned = await wgcage(
      [...base, "--no-userns", "--keep-socket", `${dir}/kept.sock`, "--", "true"],
      { env },
    );
    const lines = warned.stderr.trimEnd().split("\n");
    if (
      warned.code !== 0 || lines.length !== 3 ||
      !lines[0].startsWith("wgcage: Warning: --no-userns: NO BOUNDARY: CMD keeps root's") ||
      !lines[1].startsWith(`wgcage: Warning: --keep-socket '${dir}/kept.sock' changes nothing`) ||
      lines[2] !==
        "wgcage: Warning: HTTPS_PROXY, http_proxy pass into the cage: CMD's web traffic goes to that proxy (a proxy on the host's loopback is out of reach); to leave them out, run: env -u HTTPS_PROXY -u http_proxy wgcage …"
    ) throw new Error(`${warned.code}:\n${warned.stderr}`);
    // Without them: nothing to say.
    const quiet = await wgcage([...base, "--", "true"], { env: { PATH: env.PATH } });
    if (quiet.code !== 0 || quiet.stderr !== "") throw new Error(`${quiet.code}:\n${quiet.stderr}`);
  } finally {
    socket.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("help says: CMD's own 125-127 and how to tell them from wgcage's, -p and the tunnel address, tcpdump rootless; README: npm i -g ./dist/…", async () => {
  const help = async (topic: string) => (await wgcage(["help", topic])).stdout;
  const expect = (text: string, words: string[]) => {
    for (const w of words) if (!text.includes(w)) throw new Error(`missing '${w}' in:\n${text}`);
  };
  expect(await help("exit"), [
    "CMD's own 125, 126 or 127 pass through",
    "starts with 'wgcage: '",
    '"starting the command"',
  ]);
  expect(await help("ports"), ["One bound to the\ncage's tunnel address alone", "127.0.0.1"]);
  expect(await help("cage"), [
    "-Z root fails at setgroups",
    "'tcpdump -Z root -i wg0'",
    "sudo nsenter --net=/proc/PID/ns/net tcpdump -i wg0",
    "env -u https_proxy wgcage",
  ]);
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  expect(readme, ["npm i -g ./dist/wgcage-VERSION.tgz", "GitHub repository's shorthand"]);
});

Deno.test("a live cage: 'up' warns about --no-userns and --keep-socket once, 'exec' about proxy variables", async () => {
  requireRoot("The live cage warnings test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("words");
    const { config } = await loopbackPeer(lab, ns);
    const dir = await Deno.makeTempDir({ prefix: "wgc-words-" });
    lab.defer(() => Deno.remove(dir, { recursive: true }));
    const socket = Deno.listen({ transport: "unix", path: `${dir}/kept.sock` });
    lab.defer(() => socket.close());
    const name = cageName("cw");
    const up = await run(
      wgcageArgv([
        "up",
        name,
        "--config",
        config,
        "--wg-dns",
        "10.99.0.1",
        "--no-userns",
        "--keep-socket",
        `${dir}/kept.sock`,
        "-d",
      ]),
      { ns: ns.name, allowFailure: true, timeoutMs: 60_000 },
    );
    lab.defer(() => run(wgcageArgv(["down", name]), { allowFailure: true }));
    const lines = up.stderr.trimEnd().split("\n");
    if (
      up.code !== 0 || lines.length !== 2 ||
      !lines[0].startsWith("wgcage: Warning: --no-userns: NO BOUNDARY") ||
      !lines[1].startsWith(`wgcage: Warning: --keep-socket '${dir}/kept.sock' changes nothing`)
    ) throw new Error(`up: ${up.code}:\n${up.stderr}`);
    const joined = await run(
      ["env", "ALL_PROXY=socks5://10.99.0.1:1080", ...wgcageArgv(["exec", name, "--", "true"])],
      { ns: ns.name, allowFailure: true },
    );
    if (
      joined.code !== 0 ||
      joined.stderr.trimEnd() !==
        "wgcage: Warning: ALL_PROXY passes into the cage: CMD's web traffic goes to that proxy (a proxy on the host's loopback is out of reach); to leave it out, run: env -u ALL_PROXY wgcage …"
    ) throw new Error(`exec: ${joined.code}:\n${joined.stderr}`);
  } finally {
    await lab.close();
  }
});

Deno.test("a script saved with DOS line endings: its #! line's carriage return is named (127)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgc-words-" });
  try {
    await Deno.writeTextFile(`${dir}/dos.sh`, "#!/bin/sh\r\necho hi\r\n", { mode: 0o755 });
    expectLine(
      await wgcage(["--config", "c.conf", "--", `${dir}/dos.sh`]),
      127,
      /^wgcage: Cannot run '[^']+\/dos\.sh': its #! line ends in a carriage return \(DOS line endings\), so its interpreter is not found; convert the file, e\.g\. with dos2unix$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
