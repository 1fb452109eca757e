/**
 * The pure parts of `deno task test:fresh` (tools/fresh_machine.ts): its
 * options and the archive it takes from the host's apt sources. The run
 * itself takes minutes and is CI's last step (.ci/run), not part of the suite.
 *
 * @module
 */

import { archiveMirror, parseFreshArgs, UsageError } from "../tools/fresh_machine.ts";
import { parseAptSources, renderDeb822, renderOneLine } from "../tools/apt_sources.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

Deno.test("test:fresh takes --cold, --keep, --setup-only, --ref REV and repeated --drop-package NAME", () => {
  const o = parseFreshArgs(["--keep", "--drop-package", "lld-14", "--drop-package", "libc6-dev"]);
  assert(o.keep && !o.cold && !o.setupOnly, JSON.stringify(o));
  assert(parseFreshArgs(["--setup-only"]).setupOnly, "--setup-only is not taken");
  assert(o.dropPackages.join(" ") === "lld-14 libc6-dev", JSON.stringify(o));
  assert(parseFreshArgs([]).dropPackages.length === 0, "a default drops a package");
  assert(parseFreshArgs([]).ref === undefined, "a default takes a revision");
  assert(parseFreshArgs(["--ref", "366dc11~"]).ref === "366dc11~", "--ref is not taken");
  const bads = [["--drop-package"], ["--drop-package", "-x"], ["--chroot"], ["--ref"], [
    "--ref",
    "--keep",
  ]];
  for (const bad of bads) {
    let thrown: unknown;
    try {
      parseFreshArgs(bad);
    } catch (e) {
      thrown = e;
    }
    assert(thrown instanceof UsageError, `${bad.join(" ")} was accepted`);
  }
});

Deno.test("test:fresh takes the main archive from the host's deb822 or one-line apt sources", () => {
  const deb822 = parseAptSources([{
    name: "debian.sources",
    text: "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\n" +
      "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n",
  }]);
  assert(archiveMirror(deb822) === "http://mirror.example/debian", archiveMirror(deb822));
  const oneLine = parseAptSources([{
    name: "sources.list",
    text: "deb [signed-by=/k.gpg] https://m.example/debian/ bookworm main\n",
  }]);
  assert(archiveMirror(oneLine) === "https://m.example/debian", archiveMirror(oneLine));
  assert(archiveMirror([]) === "http://deb.debian.org/debian", "no default");
});

/** `apt_mirror DIR` as .ci/run runs it: sourced by bash under its shell options. */
async function aptMirror(dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      'set -Eeuo pipefail; shopt -s inherit_errexit; . "$0"; apt_mirror "$1"',
      new URL("../tools/apt_mirror.sh", import.meta.url).pathname,
      dir,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test(".ci/run's apt_mirror reads the installer's one-line sources.list and the deb822 form", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgc-apt-" });
  try {
    const cases: [string, Record<string, string>, string][] = [
      ["as the installer leaves it", {
        "sources.list": "# deb cdrom:[Debian GNU/Linux 12 _Bookworm_]/ bookworm main\n" +
          "deb http://security.debian.org/debian-security bookworm-security main\n" +
          "deb [arch=amd64 signed-by=/k.gpg] http://ftp.de.debian.org/debian/ bookworm main\n" +
          "deb http://ftp.de.debian.org/debian/ bookworm-updates main\n",
      }, "http://ftp.de.debian.org/debian"],
      ["as debootstrap leaves it", {
        "sources.list": "deb http://mirror.example/debian bookworm main\n",
      }, "http://mirror.example/debian"],
      ["as the Docker image has it", {
        "sources.list.d/debian.sources": "Types: deb\n# a comment\n" +
          "URIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n" +
          "Types: deb\nURIs: https://m.example/debian/\nSuites: bookworm bookworm-updates\n" +
          "Components: main\n",
      }, "https://m.example/debian"],
      ["with the main deb822 stanza disabled and a deb-src one", {
        "sources.list.d/debian.sources": "Types: deb\nURIs: http://off.example/debian\n" +
          "Suites: bookworm\nEnabled: no\n\nTypes: deb-src\nURIs: http://src.example/debian\n" +
          "Suites: bookworm\n",
      }, "http://deb.debian.org/debian"],
      ["with no sources file at all", {}, "http://deb.debian.org/debian"],
    ];
    for (const [what, files, expected] of cases) {
      const apt = `${dir}/${cases.findIndex((c) => c[0] === what)}`;
      await Deno.mkdir(`${apt}/sources.list.d`, { recursive: true });
      for (const [name, text] of Object.entries(files)) {
        await Deno.writeTextFile(`${apt}/${name}`, text);
      }
      const r = await aptMirror(apt);
      assert(r.code === 0 && r.stderr === "", `${what}: exit ${r.code}: ${r.stderr}`);
      assert(r.stdout === `${expected}\n`, `${what}: got ${r.stdout}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(".ci/run names the line and command that failed instead of exiting without a word", async () => {
  // .ci/run's own prologue (up to its cd), then a failing pipeline.
  const ci = await Deno.readTextFile(new URL("../.ci/run", import.meta.url));
  const prologue = ci.slice(0, ci.indexOf("\ncd "));
  const script =
    `${prologue}\ntrue\nsed -n p /nonexistent-wgc-file 2>/dev/null | head -n1\necho not reached\n`;
  const out = await new Deno.Command("bash", {
    args: ["-c", script],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const stderr = new TextDecoder().decode(out.stderr);
  const line = script.split("\n").findIndex((l) => l.startsWith("sed -n p")) + 1;
  assert(out.code === 2, `exit ${out.code}`);
  assert(new TextDecoder().decode(out.stdout) === "", "went on after the failure");
  assert(
    stderr === `.ci/run: line ${line}: 'head -n1' failed (exit 2)\n`,
    `stderr: ${stderr}`,
  );
});

Deno.test("test:fresh writes the host's apt sources in the installer's one-line form and in deb822, and .ci/run finds the archive in each", async () => {
  const host = "Types: deb\n# a snapshot, commented out\nURIs: http://mirror.example/debian\n" +
    "Suites: bookworm bookworm-updates\nComponents: main\n" +
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n" +
    "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n" +
    "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n" +
    "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n";
  const sources = parseAptSources([{ name: "/etc/apt/sources.list.d/debian.sources", text: host }]);
  const oneLine = renderOneLine(sources);
  const key = "[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]";
  assert(
    oneLine === `deb ${key} http://mirror.example/debian bookworm main\n` +
        `deb ${key} http://mirror.example/debian bookworm-updates main\n` +
        `deb ${key} http://mirror.example/debian-security bookworm-security main\n`,
    oneLine,
  );
  const deb822 = renderDeb822(sources);
  // Each form reads back as the same entries.
  const fromOneLine = parseAptSources([{ name: "sources.list", text: oneLine }]);
  const fromDeb822 = parseAptSources([{ name: "debian.sources", text: deb822 }]);
  assert(JSON.stringify(fromOneLine) === JSON.stringify(sources), JSON.stringify(fromOneLine));
  assert(JSON.stringify(fromDeb822) === JSON.stringify(sources), JSON.stringify(fromDeb822));

  const dir = await Deno.makeTempDir({ prefix: "wgc-apt-" });
  try {
    await Deno.mkdir(`${dir}/one-line/sources.list.d`, { recursive: true });
    await Deno.writeTextFile(`${dir}/one-line/sources.list`, oneLine);
    await Deno.mkdir(`${dir}/deb822/sources.list.d`, { recursive: true });
    await Deno.writeTextFile(`${dir}/deb822/sources.list.d/debian.sources`, deb822);
    for (const form of ["one-line", "deb822"]) {
      const r = await aptMirror(`${dir}/${form}`);
      assert(r.stdout === "http://mirror.example/debian\n", `${form}: ${r.stdout}${r.stderr}`);
    }
    // The mirror test:fresh gives debootstrap is the one .ci/run adds backports from.
    assert(archiveMirror(sources) === "http://mirror.example/debian", archiveMirror(sources));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
