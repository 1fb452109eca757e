/**
 * `deno task test:fresh`: proves that a fresh Debian 12 can set wgcage up and
 * pass its tests, as CI's machine must, without what a developer's machine
 * happens to have installed.
 *
 * 1. A minimal bookworm root: `debootstrap --variant=minbase`, from a base
 *    tarball cached in /var/cache/wgcage-fresh (`--make-tarball` once, then
 *    `--unpack-tarball`), in a new directory under /var/tmp.
 * 2. What every machine here has that a bare image lacks, copied in as the
 *    host has it: the CA bundle (and /usr/local/share/ca-certificates), npm's
 *    settings (/etc/npmrc, ~/.npmrc), /etc/hosts, /etc/resolv.conf, and the
 *    apt.conf.d settings apt reaches the archive with. apt's sources are the
 *    host's, written in each form a Debian 12 machine can hold them
 *    (tools/apt_sources.ts). The
 *    project's files (tracked and untracked, not ignored) and the WireGuard
 *    test vectors go to /work/wgcage and /work/shared/vectors.
 * 3. The root becomes "/" of a new mount and PID namespace with `pivot_root`,
 *    not `chroot` (the kernel refuses user namespaces to a chrooted process,
 *    and the cage makes "/" private, which needs "/" to be a mount point),
 *    with /sys and /dev bound from the host, a /proc of its own PID namespace
 *    (so nothing started inside outlives the run) and a tmpfs on /run.
 * 4. There, as that machine's root: the README's set-up and test command
 *    (`.ci/run`: apt-get, Deno from npm, `deno task check`, `deno task test`)
 *    with the sources as Debian's installer leaves them (one-line
 *    /etc/apt/sources.list, no deb822 file); then `.ci/run`'s set-up again
 *    with them as Docker's debian image has them (deb822 debian.sources
 *    only); then the quick start (`deno task demo`).
 *
 * Downloaded .deb files and npm's cache are kept between runs in the cache
 * directory (`--cold` does without): what gets installed is the same.
 * `--ref REV` takes the project as committed at REV (`git archive`) instead
 * of the work tree: `--ref 366dc11~` is the tree before .ci/run installed
 * lld-14, and fails in `deno task build --check` (rust-lld not found).
 * `--drop-package NAME` removes NAME from the copied .ci/run's apt-get line
 * first, to show that the run fails without it (e.g. `lld-14`).
 * `--setup-only` runs only `.ci/run`'s set-up (both forms of sources), not
 * its check and tests nor the demo: a quicker proof of the install steps.
 *
 * Usage: `deno task test:fresh [--cold] [--keep] [--setup-only] [--ref REV] [--drop-package NAME]`
 *
 * @module
 */

import { type AptSource, parseAptSources, renderDeb822, renderOneLine } from "./apt_sources.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const SUITE = "bookworm";

/** What `deno task test:fresh` was asked to do. */
export interface FreshOptions {
  readonly cold: boolean;
  readonly keep: boolean;
  /** Only .ci/run's set-up, in both forms of apt sources; no check, tests or demo. */
  readonly setupOnly: boolean;
  readonly dropPackages: readonly string[];
  /** A git revision to take the project from; the work tree when absent. */
  readonly ref?: string;
}

export class UsageError extends Error {}

/** argv → options; throws {@linkcode UsageError} with a one-line message. */
export function parseFreshArgs(args: readonly string[]): FreshOptions {
  let cold = false;
  let keep = false;
  let setupOnly = false;
  const dropPackages: string[] = [];
  let ref: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--cold") cold = true;
    else if (a === "--keep") keep = true;
    else if (a === "--setup-only") setupOnly = true;
    else if (a === "--drop-package") {
      const name = args[++i];
      if (!name || !/^[a-z0-9][a-z0-9+.-]+$/.test(name)) {
        throw new UsageError(`--drop-package needs a Debian package name, got '${name ?? ""}'`);
      }
      dropPackages.push(name);
    } else if (a === "--ref") {
      ref = args[++i];
      if (!ref || ref.startsWith("-")) throw new UsageError("--ref needs a git revision");
    } else {
      throw new UsageError(
        `Unknown option '${a}'; use --cold, --keep, --setup-only, --ref REV or --drop-package NAME`,
      );
    }
  }
  return { cold, keep, setupOnly, dropPackages, ref };
}

/**
 * The main archive's address, as the host's apt sources name it: the first
 * `deb` entry for a suite without a dash (bookworm or stable, not
 * bookworm-security or -updates), without a trailing slash; deb.debian.org
 * when none does. The rule tools/apt_mirror.sh follows for .ci/run, which
 * cannot run this before Deno is installed.
 */
export function archiveMirror(sources: readonly AptSource[]): string {
  const main = sources.find((s) => s.type === "deb" && !s.suite.includes("-"));
  return main ? main.uri.replace(/\/+$/, "") : "http://deb.debian.org/debian";
}

function say(line: string): void {
  console.log(`test:fresh: ${line}`);
}

async function sh(
  argv: string[],
  opts: { input?: string; quiet?: boolean; env?: Record<string, string> } = {},
): Promise<number> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: opts.input === undefined ? "null" : "piped",
    stdout: opts.quiet ? "piped" : "inherit",
    stderr: opts.quiet ? "piped" : "inherit",
    env: opts.env,
    clearEnv: opts.env !== undefined,
  }).spawn();
  if (opts.input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.input));
    await w.close();
  }
  const out = await child.output();
  if (opts.quiet && !out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-15).join("\n");
    throw new Error(`'${argv.join(" ")}' failed (exit ${out.code}):\n${err}`);
  }
  return out.code;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function listDir(dir: string): Promise<string[]> {
  if (!(await exists(dir))) return [];
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

/**
 * The host's enabled apt source files: sources.list and sources.list.d/*.list|*.sources,
 * but not the backports entry that .ci/run itself writes.
 */
async function hostSourceFiles(): Promise<string[]> {
  const files = ["/etc/apt/sources.list"];
  for (const name of await listDir("/etc/apt/sources.list.d")) {
    if (name.startsWith("wgcage-")) continue;
    if (name.endsWith(".list") || name.endsWith(".sources")) {
      files.push(`/etc/apt/sources.list.d/${name}`);
    }
  }
  const found = [];
  for (const f of files) if (await exists(f)) found.push(f);
  return found;
}

/** The entries of the host's enabled apt source files ({@linkcode hostSourceFiles}). */
async function hostSources(): Promise<AptSource[]> {
  const files = [];
  for (const name of await hostSourceFiles()) {
    files.push({ name, text: await Deno.readTextFile(name) });
  }
  return parseAptSources(files);
}

/** The minbase root, unpacked from the cached base tarball (made on first use). */
async function makeRoot(dir: string, cache: string, mirror: string): Promise<void> {
  const arch = await new Deno.Command("dpkg", { args: ["--print-architecture"] }).output();
  const debArch = new TextDecoder().decode(arch.stdout).trim();
  const tarball = `${cache}/${SUITE}-minbase-${debArch}.tgz`;
  if (!(await exists(tarball))) {
    say(`making the base tarball ${tarball} (once)`);
    const work = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "wgcage-fresh-base-" });
    try {
      await sh([
        "debootstrap",
        "--variant=minbase",
        `--make-tarball=${tarball}.part`,
        SUITE,
        work,
        mirror,
      ], { quiet: true });
      await Deno.rename(`${tarball}.part`, tarball);
    } finally {
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  }
  await sh([
    "debootstrap",
    "--variant=minbase",
    `--unpack-tarball=${tarball}`,
    SUITE,
    dir,
    mirror,
  ], { quiet: true });
}

/** Copies what a machine here has that a bare image lacks; `hostApt`: the host's apt sources. */
async function copyHostSettings(dir: string, hostApt: readonly AptSource[]): Promise<void> {
  const copy = async (from: string, to = from) => {
    if (!(await exists(from))) return;
    await Deno.mkdir(`${dir}${to.replace(/\/[^/]*$/, "")}`, { recursive: true });
    await sh(["cp", "-L", "--preserve=mode", from, `${dir}${to}`], { quiet: true });
  };
  await copy("/etc/ssl/certs/ca-certificates.crt");
  for (const name of await listDir("/usr/local/share/ca-certificates")) {
    await copy(`/usr/local/share/ca-certificates/${name}`);
  }
  await copy("/etc/npmrc");
  const home = Deno.env.get("HOME");
  if (home) await copy(`${home}/.npmrc`, "/root/.npmrc");
  await copy("/etc/hosts");
  await copy("/etc/resolv.conf");
  // apt: the host's enabled sources, in both forms, for STEPS to put in place
  // one after the other (each replaces debootstrap's one line), and the
  // apt.conf.d files that say how to reach the archive (Acquire::…: proxies,
  // validity of snapshots).
  const sources = [...hostApt];
  if (sources.length === 0) {
    // debootstrap's own line, from the mirror it was given, is the installer's form.
    sources.push(...parseAptSources([{
      name: "sources.list",
      text: await Deno.readTextFile(`${dir}/etc/apt/sources.list`),
    }]));
  }
  await Deno.mkdir(`${dir}/work/apt`, { recursive: true });
  await Deno.writeTextFile(`${dir}/work/apt/sources.list`, renderOneLine(sources));
  await Deno.writeTextFile(`${dir}/work/apt/debian.sources`, renderDeb822(sources));
  for (const name of await listDir("/etc/apt/apt.conf.d")) {
    const f = `/etc/apt/apt.conf.d/${name}`;
    if (/^\s*Acquire\b/m.test(await Deno.readTextFile(f).catch(() => ""))) await copy(f);
  }
  for (const name of await listDir("/etc/apt/auth.conf.d")) {
    await copy(`/etc/apt/auth.conf.d/${name}`);
  }
}

/**
 * The project into DIR/work/wgcage: its files as committed at `ref`, or the
 * work tree's (tracked and untracked, not ignored).
 */
async function copyProject(
  dir: string,
  dropPackages: readonly string[],
  ref: string | undefined,
): Promise<void> {
  const dest = `${dir}/work/wgcage`;
  await Deno.mkdir(dest, { recursive: true });
  if (ref !== undefined) {
    const archive = `${dir}/work/project.tar`;
    await sh(["git", "-C", ROOT, "archive", "--format=tar", "-o", archive, ref], { quiet: true });
    await sh(["tar", "-C", dest, "-xf", archive], { quiet: true });
    await Deno.remove(archive);
  } else {
    await copyWorkTree(dest);
  }
  await copyVectorsAndDrop(dir, dest, dropPackages);
}

async function copyWorkTree(dest: string): Promise<void> {
  const files = await new Deno.Command("git", {
    args: ["-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    stdout: "piped",
  }).output();
  if (!files.success) throw new Error("Cannot list the project's files with git ls-files");
  const present = [];
  for (const f of new TextDecoder().decode(files.stdout).split("\0").filter(Boolean)) {
    if (await exists(`${ROOT}/${f}`)) present.push(f);
  }
  const archive = `${dest}/../project.tar`;
  await sh(["tar", "-C", ROOT, "--null", "-T", "-", "-cf", archive], {
    input: present.join("\0") + "\0",
    quiet: true,
  });
  await sh(["tar", "-C", dest, "-xf", archive], { quiet: true });
  await Deno.remove(archive);
}

async function copyVectorsAndDrop(
  dir: string,
  dest: string,
  dropPackages: readonly string[],
): Promise<void> {
  const vectors = Deno.env.get("WGCAGE_VECTORS") ?? `${ROOT}/../shared/vectors`;
  if (await exists(vectors)) {
    await Deno.mkdir(`${dir}/work/shared`, { recursive: true });
    await sh(["cp", "-R", vectors, `${dir}/work/shared/vectors`], { quiet: true });
  }
  if (dropPackages.length > 0) {
    const ci = `${dest}/.ci/run`;
    let text = await Deno.readTextFile(ci);
    for (const name of dropPackages) {
      const escaped = name.replace(/[.+]/g, "\\$&");
      const before = text;
      text = text.replace(new RegExp(`(?<=\\s)${escaped}(?=\\s)`, "g"), "");
      if (text === before) throw new Error(`.ci/run installs no package '${name}'`);
    }
    await Deno.writeTextFile(ci, text);
    say(`dropped ${dropPackages.join(", ")} from the fresh machine's .ci/run`);
  }
}

/**
 * Run in the new mount and PID namespace by the host's sh, as its PID 1:
 * mounts, pivot_root, then the steps on the fresh root.
 */
const ENTER = `set -eu
new=$1; cache=$2
mount --bind "$new" "$new"
mount -t proc proc "$new/proc"
mount --rbind /sys "$new/sys"
mount --rbind /dev "$new/dev"
mount -t tmpfs -o mode=0755 tmpfs "$new/run"
if [ -n "$cache" ]; then
  mkdir -p "$cache/apt-archives/partial" "$cache/npm" "$new/root/.npm"
  mount --bind "$cache/apt-archives" "$new/var/cache/apt/archives"
  mount --bind "$cache/npm" "$new/root/.npm"
fi
mkdir -p "$new/.oldroot"
cd "$new"
pivot_root . .oldroot
cd /
exec /bin/bash /work/steps.sh "$3"`;

/**
 * The README's set-up, test command and quick start, on the fresh root; $1 is
 * "setup-only" for .ci/run's set-up alone. The apt sources go in as the
 * installer leaves them, then as Docker's debian image has them.
 */
const STEPS = `set -euo pipefail
umount -l /.oldroot && rmdir /.oldroot
step() { echo "test:fresh: [$(date -u +%T)] $*"; }
only=
[ "\${1:-}" != setup-only ] || only=1
cd /work/wgcage
rm -f /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list
cp /work/apt/sources.list /etc/apt/sources.list
step "apt sources as the installer leaves them: one-line /etc/apt/sources.list, no deb822 file"
if [ -n "$only" ]; then
  step "set-up: .ci/run (apt-get, Deno from npm)"
  WGCAGE_FRESH_ROOT=1 WGCAGE_CI_SETUP_ONLY=1 bash .ci/run
else
  step "set-up and test command: .ci/run (apt-get, Deno from npm, deno task check, deno task test)"
  WGCAGE_FRESH_ROOT=1 bash .ci/run
fi
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/wgcage-backports.sources
cp /work/apt/debian.sources /etc/apt/sources.list.d/debian.sources
step "apt sources as Docker's debian image has them: deb822 debian.sources only"
step "set-up: .ci/run (apt-get, Deno from npm)"
WGCAGE_FRESH_ROOT=1 WGCAGE_CI_SETUP_ONLY=1 bash .ci/run
if [ -z "$only" ]; then
  step "quick start: deno task demo"
  deno task demo
fi
step "done"`;

async function main(args: string[]): Promise<number> {
  let options: FreshOptions;
  try {
    options = parseFreshArgs(args);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`test:fresh: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (Deno.uid() !== 0) {
    console.error("test:fresh: Needs root (debootstrap, mounts, pivot_root); run it with sudo");
    return 1;
  }
  for (const [tool, pkg] of [["debootstrap", "debootstrap"], ["unshare", "util-linux"]]) {
    if ((await sh(["sh", "-c", `command -v ${tool} >/dev/null`])) !== 0) {
      console.error(`test:fresh: Cannot find ${tool}; install it (apt-get install ${pkg})`);
      return 1;
    }
  }
  const cache = Deno.env.get("WGCAGE_FRESH_CACHE") ?? "/var/cache/wgcage-fresh";
  await Deno.mkdir(cache, { recursive: true });
  const started = performance.now();
  const seconds = () => `${Math.round((performance.now() - started) / 1000)} s`;
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "wgcage-fresh-" });
  let code = 1;
  try {
    // It becomes "/": every user must be able to walk it (apt's _apt, uid 65534).
    await Deno.chmod(dir, 0o755);
    const hostApt = await hostSources();
    const mirror = archiveMirror(hostApt);
    say(`minimal ${SUITE} root in ${dir} (mirror ${mirror})`);
    await makeRoot(dir, cache, mirror);
    await copyHostSettings(dir, hostApt);
    await copyProject(dir, options.dropPackages, options.ref);
    await Deno.writeTextFile(`${dir}/work/steps.sh`, STEPS + "\n");
    say(`root ready after ${seconds()}; entering it with pivot_root`);
    const env: Record<string, string> = {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: "/root",
      LANG: "C.UTF-8",
      CI: "true",
    };
    // The machine's proxy and CA settings, as CI's environment has them.
    for (
      const name of [
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "NODE_EXTRA_CA_CERTS",
        "CURL_CA_BUNDLE",
        "DENO_CERT",
        "DENO_TLS_CA_STORE",
      ]
    ) {
      const value = Deno.env.get(name);
      if (value) env[name] = value;
    }
    code = await sh([
      "unshare",
      "--mount",
      "--pid",
      "--fork",
      "--propagation",
      "private",
      "sh",
      "-c",
      ENTER,
      "sh",
      dir,
      options.cold ? "" : cache,
      options.setupOnly ? "setup-only" : "",
    ], { env });
    say(code === 0 ? `passed in ${seconds()}` : `FAILED (exit ${code}) after ${seconds()}`);
  } catch (e) {
    say(`FAILED after ${seconds()}: ${e instanceof Error ? e.message : String(e)}`);
    code = 1;
  } finally {
    if (options.keep) say(`kept ${dir}`);
    else {await Deno.remove(dir, { recursive: true }).catch((e) =>
        say(`cannot remove ${dir}: ${e}`)
      );}
  }
  return code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
