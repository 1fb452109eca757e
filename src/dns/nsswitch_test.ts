import { deepStrictEqual, strictEqual } from "node:assert";
import { nsswitchConf } from "./nsswitch.ts";

function databases(text: string): Map<string, string> {
  const entries = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split(/:\s+/) as [string, string]);
  return new Map(entries);
}

Deno.test("hosts are looked up in files and DNS only, never through host services", () => {
  const hosts = databases(nsswitchConf()).get("hosts");
  strictEqual(hosts, "files dns");
});

Deno.test("user and group lookups keep working from the host's files and systemd", () => {
  const db = databases(nsswitchConf());
  deepStrictEqual(
    ["passwd", "group", "shadow", "gshadow"].map((name) => db.get(name)),
    ["files systemd", "files systemd", "files", "files"],
  );
});

Deno.test("no database names a source that can reach the network from outside the tunnel", () => {
  for (const [name, sources] of databases(nsswitchConf())) {
    for (const source of sources.split(" ")) {
      strictEqual(["files", "dns", "systemd"].includes(source), true, `${name}: ${source}`);
    }
  }
  strictEqual(nsswitchConf().endsWith("\n"), true);
});
