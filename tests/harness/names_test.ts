import {
  cageName,
  interfaceName,
  namespaceName,
  pidOfInterface,
  pidOfNamespace,
  pidOfTempDir,
  tempDirPrefix,
} from "./names.ts";

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

Deno.test("harness names carry this process's pid and read back", () => {
  for (const serial of [0, 35, 36 ** 4 - 1]) {
    const ns = namespaceName("server", serial);
    check(pidOfNamespace(ns) === Deno.pid, `${ns} does not read back`);
    for (const kind of ["h", "w"] as const) {
      const ifname = interfaceName(kind, serial);
      check(ifname.length <= 15, `${ifname} is longer than 15 characters`);
      check(pidOfInterface(ifname) === Deno.pid, `${ifname} does not read back`);
    }
  }
  check(pidOfTempDir(`${tempDirPrefix("keys")}a1B2c3`) === Deno.pid, "temp dir does not read back");
});

Deno.test("names not made by the harness are never claimed", () => {
  for (const name of ["wgc-abc-1-x", "wg0", "wgc-12", "myns", "wgc-12-1-Role", "wgc-12-1-a-b"]) {
    check(pidOfNamespace(name) === undefined, `claimed namespace ${name}`);
  }
  for (const name of ["wgc12", "wgc12x1", "wgcx12h1", "veth0", "wg0"]) {
    check(pidOfInterface(name) === undefined, `claimed interface ${name}`);
  }
  for (const name of ["wgc-e2e-123-x", "wgc-lab-x-1", "wgc-keys-12-"]) {
    check(pidOfTempDir(name) === undefined, `claimed directory ${name}`);
  }
});

Deno.test("roles outside a-z0-9 are refused", () => {
  let threw = false;
  try {
    namespaceName("bad role");
  } catch (e) {
    threw = e instanceof RangeError;
  }
  check(threw, "accepted a role with a space");
});

Deno.test("cage names differ between calls of one process and fit a device name", () => {
  const a = cageName("lf");
  const b = cageName("lf");
  check(a !== b, `two cages got one name: ${a}`);
  const longest = cageName("ltn", 36 ** 4 - 1);
  check(/^[a-z0-9]{1,15}$/.test(longest.replace("x", "")), `${longest} is not a device name`);
  check(longest.length <= 15, `${longest} is longer than 15 characters`);
});
