/**
 * install.sh against a release directory that the test makes and serves on
 * 127.0.0.1: it installs the asset for the machine after checking
 * SHA256SUMS; a tampered asset, a tampered or missing checksum, an unknown
 * machine, another system or musl are refused in one line with nothing
 * written; the opt-out installs unverified and says so; without an install
 * directory, a user gets ~/.local/bin and is told when it is not on PATH
 * (but not when the Action runs it); the success line has the version the
 * binary reports, a failed download the downloader's error; SHA256SUMS may
 * be in upper-case hex.
 *
 * `uname`, `ldd` and `curl` are faked where a case needs it, through PATH.
 * The ~/.local/bin case runs as uid 65534 and so needs root.
 *
 * @module
 */

import { run, type RunResult } from "./harness/process.ts";
import { writeSums } from "../tools/release.ts";

const INSTALL_SH = new URL("../install.sh", import.meta.url).pathname;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const MACHINE_ARCH = Deno.build.arch;
const ASSET = `wgcage-${MACHINE_ARCH}-linux`;

interface Release {
  readonly dir: string;
  readonly url: string;
  /** The asset's bytes as served. */
  readonly asset: Uint8Array;
  close(): Promise<void>;
}

/** What the test release's binaries say to `version`, as wgcage does. */
const RELEASED_VERSION = "0.1.0";

/** A release directory with both binaries and SHA256SUMS, served on 127.0.0.1. */
async function serveRelease(): Promise<Release> {
  const dir = await Deno.makeTempDir({ prefix: "wgc-release-" });
  const names = [];
  for (const arch of ["x86_64", "aarch64"]) {
    const name = `wgcage-${arch}-linux`;
    await Deno.writeTextFile(
      `${dir}/${name}`,
      `#!/bin/sh\nif [ "$1" = version ]; then echo "wgcage ${RELEASED_VERSION} (deno 2.9.6)"; ` +
        `else echo "wgcage test build ${arch}"; fi\n`,
    );
    names.push(name);
  }
  await writeSums(dir, names);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const name = new URL(req.url).pathname.slice(1);
    if (!/^[\w.-]+$/.test(name)) return new Response("bad name", { status: 400 });
    try {
      return new Response(await Deno.readFile(`${dir}/${name}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return {
    dir,
    url: `http://127.0.0.1:${server.addr.port}`,
    asset: await Deno.readFile(`${dir}/${ASSET}`),
    close: async () => {
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A temp dir with `bin/` of fake commands, removed by the caller. */
async function fakes(commands: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "wgc-fakes-" });
  await Deno.mkdir(`${dir}/bin`);
  for (const [name, script] of Object.entries(commands)) {
    await Deno.writeTextFile(`${dir}/bin/${name}`, `#!/bin/sh\n${script}\n`);
    await Deno.chmod(`${dir}/bin/${name}`, 0o755);
  }
  await Deno.chmod(dir, 0o755);
  return dir;
}

/**
 * A fakes dir whose bin/ has the tools install.sh uses and wget, but no curl:
 * install.sh falls back to wget there. Removed by the caller.
 */
async function wgetOnly(): Promise<string> {
  if ((await run(["sh", "-c", "command -v wget"], { allowFailure: true })).code !== 0) {
    throw new Error("install.sh's wget cases need wget; install it (apt-get install wget)");
  }
  const dir = await fakes({});
  const tools = [
    ..."sh uname ldd mktemp rm awk sha256sum id mkdir cp chmod mv rmdir grep ls".split(" "),
    ..."tr sed tail wget".split(" "),
  ];
  for (const tool of tools) {
    const found = await run(["sh", "-c", `command -v ${tool} || true`]);
    if (found.stdout.trim()) await Deno.symlink(found.stdout.trim(), `${dir}/bin/${tool}`);
  }
  return dir;
}

async function install(env: Record<string, string>, prefix: string[] = []): Promise<RunResult> {
  const path = env.PATH ?? Deno.env.get("PATH") ?? "/usr/bin:/bin";
  return await run(
    [
      ...prefix,
      "env",
      "-i",
      ...Object.entries({ ...env, PATH: path }).map(([k, v]) => `${k}=${v}`),
      "sh",
      INSTALL_SH,
    ],
    { allowFailure: true, timeoutMs: 30_000 },
  );
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    throw e;
  }
}

function oneLine(r: RunResult, pattern: RegExp): void {
  const out = (r.stdout + r.stderr).trim();
  assert(!out.includes("\n"), `expected one line, got:\n${out}`);
  assert(pattern.test(out), `expected ${pattern}, got: ${out}`);
}

Deno.test("install.sh installs the machine's binary after checking SHA256SUMS, with curl and with wget", async () => {
  const release = await serveRelease();
  const work = await Deno.makeTempDir({ prefix: "wgc-install-" });
  const noCurl = await wgetOnly();
  try {
    const cases: [string, string | undefined][] = [["curl", undefined], ["wget", `${noCurl}/bin`]];
    for (const [downloader, path] of cases) {
      const dir = `${work}/${downloader}/bin`;
      const env: Record<string, string> = {
        WGCAGE_DOWNLOAD_URL: release.url,
        WGCAGE_INSTALL_DIR: dir,
        WGCAGE_VERSION: "0.1.0",
        HOME: work,
      };
      if (path) env.PATH = path;
      const r = await install(env);
      assert(r.code === 0, `${downloader}: exit ${r.code}: ${r.stderr}`);
      oneLine(
        r,
        new RegExp(
          `^wgcage install: installed wgcage v0\\.1\\.0 \\(${ASSET}, sha256 verified against SHA256SUMS\\) as ${dir}/wgcage; ${dir} is not on PATH`,
        ),
      );
      const installed = await Deno.readFile(`${dir}/wgcage`);
      assert(
        installed.toBase64() === release.asset.toBase64(),
        `${downloader}: other bytes installed`,
      );
      assert(((await Deno.stat(`${dir}/wgcage`)).mode! & 0o777) === 0o755, "mode is not 0755");
      const ran = await run([`${dir}/wgcage`]);
      assert(ran.stdout.trim() === `wgcage test build ${MACHINE_ARCH}`, ran.stdout);
      assert((await Array.fromAsync(Deno.readDir(dir))).length === 1, "left more than wgcage");
    }
  } finally {
    await Deno.remove(noCurl, { recursive: true });
    await Deno.remove(work, { recursive: true });
    await release.close();
  }
});

Deno.test("install.sh refuses a tampered asset, a tampered or missing checksum, and installs nothing", async () => {
  const release = await serveRelease();
  const work = await Deno.makeTempDir({ prefix: "wgc-install-" });
  try {
    const dir = `${work}/bin`;
    const env = { WGCAGE_DOWNLOAD_URL: release.url, WGCAGE_INSTALL_DIR: dir, HOME: work };
    const sums = await Deno.readTextFile(`${release.dir}/SHA256SUMS`);

    // The asset changed after the sums were made.
    await Deno.writeTextFile(`${release.dir}/${ASSET}`, "#!/bin/sh\necho evil\n");
    let r = await install(env);
    assert(r.code !== 0, "a tampered asset was installed");
    oneLine(
      r,
      new RegExp(
        `^wgcage install: ${ASSET} does not match SHA256SUMS \\(got [0-9a-f]{64}, expected [0-9a-f]{64}\\); nothing installed$`,
      ),
    );
    assert(await isEmptyOrMissing(dir), "something was installed");
    assert(!(await Deno.stat(dir).catch(() => null)), "the install directory was made");

    // The asset as released, but its checksum line changed.
    await Deno.writeFile(`${release.dir}/${ASSET}`, release.asset);
    const line = sums.split("\n").find((l) => l.endsWith(`  ${ASSET}`))!;
    const flipped = (line[0] === "0" ? "1" : "0") + line.slice(1);
    await Deno.writeTextFile(`${release.dir}/SHA256SUMS`, sums.replace(line, flipped));
    r = await install(env);
    assert(r.code !== 0, "a tampered checksum was accepted");
    oneLine(r, /does not match SHA256SUMS/);
    assert(await isEmptyOrMissing(dir), "something was installed");

    // No line for this asset.
    await Deno.writeTextFile(`${release.dir}/SHA256SUMS`, sums.replace(line + "\n", ""));
    r = await install(env);
    oneLine(r, new RegExp(`SHA256SUMS has no single sha256 for ${ASSET}; refusing to install it$`));
    assert(await isEmptyOrMissing(dir), "something was installed");

    // No SHA256SUMS at all.
    await Deno.remove(`${release.dir}/SHA256SUMS`);
    r = await install(env);
    oneLine(
      r,
      /cannot download .*\/SHA256SUMS to verify .*: curl: \(22\) The requested URL returned error: 404 \(WGCAGE_SKIP_VERIFY=1 installs unverified\)$/,
    );
    assert(await isEmptyOrMissing(dir), "something was installed");

    // The explicit opt-out installs it, and says it did not verify.
    await Deno.writeTextFile(`${release.dir}/${ASSET}`, "#!/bin/sh\necho unverified\n");
    r = await install({ ...env, WGCAGE_SKIP_VERIFY: "1" });
    assert(r.code === 0, `exit ${r.code}: ${r.stderr}`);
    oneLine(
      r,
      new RegExp(
        `installed wgcage latest \\(${ASSET}, NOT verified: WGCAGE_SKIP_VERIFY=1; it did not report its version\\)`,
      ),
    );
  } finally {
    await Deno.remove(work, { recursive: true });
    await release.close();
  }
});

Deno.test("install.sh refuses other machines, other systems and musl in one line each", async () => {
  const release = await serveRelease();
  const work = await Deno.makeTempDir({ prefix: "wgc-install-" });
  const cases: [Record<string, string>, RegExp][] = [
    [
      { uname: 'case "$1" in -s) echo Linux;; -m) echo riscv64;; esac' },
      /^wgcage install: no release binary for riscv64 \(there are x86_64 and aarch64\); build from source: https:\/\/github\.com\/wgcage\/wgcage$/,
    ],
    [
      { uname: 'case "$1" in -s) echo Darwin;; -m) echo arm64;; esac' },
      /^wgcage install: wgcage runs on Linux only, not Darwin; see /,
    ],
    [
      { ldd: 'echo "musl libc (x86_64)"; exit 1' },
      /^wgcage install: the release binaries need glibc, which this system lacks \(musl\?\)/,
    ],
  ];
  try {
    for (const [commands, pattern] of cases) {
      const fake = await fakes(commands);
      try {
        const dir = `${work}/bin`;
        const r = await install({
          PATH: `${fake}/bin:${Deno.env.get("PATH")}`,
          WGCAGE_DOWNLOAD_URL: release.url,
          WGCAGE_INSTALL_DIR: dir,
          HOME: work,
        });
        assert(r.code !== 0, `${pattern}: installed`);
        oneLine(r, pattern);
        assert(await isEmptyOrMissing(dir), "something was installed");
      } finally {
        await Deno.remove(fake, { recursive: true });
      }
    }
  } finally {
    await Deno.remove(work, { recursive: true });
    await release.close();
  }
});

Deno.test("install.sh takes the version into GitHub's release URL unless WGCAGE_DOWNLOAD_URL is set", async () => {
  // A curl that fails and says which URL it was given; nothing leaves the machine.
  const fake = await fakes({ curl: 'for a; do last=$a; done; echo "$last" >> "$0.log"; exit 22' });
  try {
    for (
      const [version, url] of [
        ["0.2.0", "https://github.com/wgcage/wgcage/releases/download/v0.2.0/"],
        ["v0.3.0", "https://github.com/wgcage/wgcage/releases/download/v0.3.0/"],
        ["", "https://github.com/wgcage/wgcage/releases/latest/download/"],
      ]
    ) {
      const r = await install({
        PATH: `${fake}/bin:${Deno.env.get("PATH")}`,
        WGCAGE_VERSION: version,
        WGCAGE_INSTALL_DIR: `${fake}/never`,
        HOME: fake,
      });
      oneLine(
        r,
        new RegExp(
          `^wgcage install: cannot download ${url.replaceAll(".", "\\.")}${ASSET}: curl exit 22$`,
        ),
      );
    }
  } finally {
    await Deno.remove(fake, { recursive: true });
  }
});

Deno.test("install.sh as a user without an install directory puts wgcage in ~/.local/bin and says it is not on PATH", async () => {
  if (Deno.uid() !== 0) {
    throw new Error("This install.sh test needs root (it runs as uid 65534); run it with sudo");
  }
  const release = await serveRelease();
  const home = await Deno.makeTempDir({ prefix: "wgc-home-" });
  try {
    await Deno.chown(home, 65534, 65534);
    await Deno.chmod(home, 0o755);
    const r = await install(
      { WGCAGE_DOWNLOAD_URL: release.url, HOME: home, PATH: "/usr/bin:/bin" },
      ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
    );
    assert(r.code === 0, `exit ${r.code}: ${r.stderr}`);
    oneLine(
      r,
      new RegExp(
        `installed wgcage v0\\.1\\.0 \\(${ASSET}, sha256 verified against SHA256SUMS\\) ` +
          `as ${home}/\\.local/bin/wgcage; ${home}/\\.local/bin is not on PATH: add it`,
      ),
    );
    assert((await Deno.stat(`${home}/.local/bin/wgcage`)).uid === 65534, "not the user's file");

    // On PATH: nothing more to say.
    const again = await install(
      { WGCAGE_DOWNLOAD_URL: release.url, HOME: home, PATH: `${home}/.local/bin:/usr/bin:/bin` },
      ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
    );
    oneLine(again, new RegExp(`as ${home}/\\.local/bin/wgcage$`));
  } finally {
    await Deno.remove(home, { recursive: true });
    await release.close();
  }
});

Deno.test("install.sh's failure line says what the downloader said: an HTTP status, a refused connection", async () => {
  const release = await serveRelease();
  const work = await Deno.makeTempDir({ prefix: "wgc-install-" });
  const noCurl = await wgetOnly();
  try {
    await Deno.remove(`${release.dir}/${ASSET}`);
    const env = { WGCAGE_DOWNLOAD_URL: release.url, WGCAGE_INSTALL_DIR: `${work}/bin`, HOME: work };
    const url = `${release.url}/${ASSET}`.replaceAll(".", "\\.");
    let r = await install(env);
    assert(r.code === 1, `exit ${r.code}`);
    oneLine(
      r,
      new RegExp(
        `^wgcage install: cannot download ${url}: curl: \\(22\\) The requested URL returned error: 404$`,
      ),
    );
    r = await install({ ...env, PATH: `${noCurl}/bin` });
    assert(r.code === 1, `exit ${r.code}`);
    oneLine(r, new RegExp(`^wgcage install: cannot download ${url}: ERROR 404: Not Found\\.$`));

    // Nothing listens on port 1 of the loopback.
    r = await install({ ...env, WGCAGE_DOWNLOAD_URL: "http://127.0.0.1:1" });
    oneLine(
      r,
      /^wgcage install: cannot download http:\/\/127\.0\.0\.1:1\/\S+: curl: \(7\) Failed to connect to 127\.0\.0\.1 port 1\b/,
    );
    r = await install({ ...env, WGCAGE_DOWNLOAD_URL: "http://127.0.0.1:1", PATH: `${noCurl}/bin` });
    oneLine(
      r,
      /^wgcage install: cannot download http:\/\/127\.0\.0\.1:1\/\S+: .*Connection refused/,
    );
    assert(await isEmptyOrMissing(`${work}/bin`), "something was installed");
  } finally {
    await Deno.remove(noCurl, { recursive: true });
    await Deno.remove(work, { recursive: true });
    await release.close();
  }
});

Deno.test("install.sh takes SHA256SUMS in upper-case hex, and still refuses a mismatch in it", async () => {
  const release = await serveRelease();
  const work = await Deno.makeTempDir({ prefix: "wgc-install-" });
  try {
    const sums = await Deno.readTextFile(`${release.dir}/SHA256SUMS`);
    const upper = sums.replace(/^[0-9a-f]{64}/gm, (hex) => hex.toUpperCase());
    assert(upper !== sums && /^[0-9A-F]{64} {2}/m.test(upper), upper);
    await Deno.writeTextFile(`${release.dir}/SHA256SUMS`, upper);
    const dir = `${work}/bin`;
    const env = { WGCAGE_DOWNLOAD_URL: release.url, WGCAGE_INSTALL_DIR: dir, HOME: work };
    const r = await install(env);
    assert(r.code === 0, `exit ${r.code}: ${r.stderr}`);
    oneLine(r, /\(wgcage-\w+-linux, sha256 verified against SHA256SUMS\)/);
    assert(
      (await Deno.readFile(`${dir}/wgcage`)).toBase64() === release.asset.toBase64(),
      "other bytes installed",
    );

    await Deno.remove(dir, { recursive: true });
    await Deno.writeTextFile(`${release.dir}/${ASSET}`, "#!/bin/sh\necho evil\n");
    const tampered = await install(env);
    assert(tampered.code === 1, `exit ${tampered.code}`);
    oneLine(tampered, /does not match SHA256SUMS/);
    assert(await isEmptyOrMissing(dir), "a tampered asset was installed");
  } finally {
    await Deno.remove(work, { recursive: true });
    await release.close();
  }
});

Deno.test("install.sh gives no PATH hint when the Action runs it: action/setup.sh puts the directory on PATH", async () => {
  const release = await serveRelease();
  const work = await Deno.makeTempDir({ prefix: "wgc-install-" });
  try {
    // The Action's setup step, with the variables the runner and prepare.sh give it.
    const github = {
      GITHUB_OUTPUT: `${work}/output`,
      GITHUB_PATH: `${work}/path`,
      RUNNER_TEMP: `${work}/temp`,
      GITHUB_ACTION_PATH: new URL("..", import.meta.url).pathname.replace(/\/$/, ""),
      WGCAGE_DIR: `${work}/cache/wgcage/v0.1.0/${MACHINE_ARCH}`,
      WGCAGE_VERSION: "v0.1.0",
      WGCAGE_DOWNLOAD_URL: release.url,
      HOME: work,
    };
    await Deno.mkdir(github.RUNNER_TEMP);
    const r = await run(
      [
        "env",
        "-i",
        ...Object.entries({ ...github, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" }).map(
          ([k, v]) => `${k}=${v}`,
        ),
        "sh",
        `${github.GITHUB_ACTION_PATH}/action/setup.sh`,
      ],
      { allowFailure: true, timeoutMs: 30_000 },
    );
    assert(r.code === 0, `setup.sh exit ${r.code}: ${r.stderr}`);
    const line = r.stdout.split("\n").find((l) => l.startsWith("wgcage install:")) ?? "";
    assert(
      line === `wgcage install: installed wgcage v0.1.0 (${ASSET}, sha256 verified against ` +
          `SHA256SUMS) as ${github.WGCAGE_DIR}/wgcage`,
      `install line: ${line}`,
    );
    assert(
      (await Deno.readTextFile(github.GITHUB_PATH)).trim() === `${github.RUNNER_TEMP}/wgcage-bin`,
      "the Action did not put wgcage on PATH",
    );

    // The same install by hand still gets the hint.
    const byHand = await install({
      WGCAGE_DOWNLOAD_URL: release.url,
      WGCAGE_INSTALL_DIR: `${work}/by-hand`,
      HOME: work,
    });
    oneLine(byHand, /is not on PATH: add it/);
  } finally {
    await Deno.remove(work, { recursive: true });
    await release.close();
  }
});
