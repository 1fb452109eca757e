/**
 * The pure parts of `deno task test:fresh` (tools/fresh_machine.ts): its
 * options and the archive it takes from the host's apt sources. The run
 * itself takes minutes and is CI's last step (.ci/run), not part of the suite.
 *
 * @module
 */

import { archiveMirror, parseFreshArgs, UsageError } from "../tools/fresh_machine.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

Deno.test("test:fresh takes --cold, --keep, --ref REV and repeated --drop-package NAME", () => {
  const o = parseFreshArgs(["--keep", "--drop-package", "lld-14", "--drop-package", "libc6-dev"]);
  assert(o.keep && !o.cold, JSON.stringify(o));
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
  const deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\n" +
    "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n";
  assert(archiveMirror([deb822]) === "http://mirror.example/debian", archiveMirror([deb822]));
  const oneLine = "deb [signed-by=/k.gpg] https://m.example/debian/ bookworm main\n";
  assert(archiveMirror([oneLine]) === "https://m.example/debian", archiveMirror([oneLine]));
  assert(archiveMirror([]) === "http://deb.debian.org/debian", "no default");
});
