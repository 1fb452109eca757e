import { deepStrictEqual, strictEqual, throws } from "node:assert";
import {
  conflictOf,
  formatHostService,
  formatPublish,
  parseHostService,
  parsePublish,
} from "./spec.ts";

Deno.test("parsePublish reads [HOST_ADDR:]HOST_PORT:CAGE_PORT[/tcp|/udp] as docker does", () => {
  const table: [string, string][] = [
    ["8080:80", "127.0.0.1:8080:80/tcp"],
    ["8080:80/udp", "127.0.0.1:8080:80/udp"],
    ["8080:80/TCP", "127.0.0.1:8080:80/tcp"],
    ["0.0.0.0:8080:80", "0.0.0.0:8080:80/tcp"],
    ["[::1]:8080:80/udp", "[::1]:8080:80/udp"],
    ["[fd00::2]:1:65535", "[fd00::2]:1:65535/tcp"],
  ];
  for (const [text, canonical] of table) strictEqual(formatPublish(parsePublish(text)), canonical);
  deepStrictEqual(parsePublish("192.0.2.1:8080:80").hostAddress, {
    family: 4,
    bytes: new Uint8Array([192, 0, 2, 1]),
  });
});

Deno.test("parsePublish refuses what is not a published port, with the reason", () => {
  const table: [string, RegExp][] = [
    ["8080", /give both ports/],
    ["", /give both ports/],
    ["1:2:3:4", /too many ':'/],
    ["::1:8080:80", /too many ':'/],
    ["0:80", /host port 0 is out of range; give 1-65535/],
    ["65536:80", /host port 65536 is out of range/],
    ["8080:70000", /cage port 70000 is out of range/],
    ["8080:http", /'http' is not a cage port/],
    ["8080:80/sctp", /protocol 'sctp' is not tcp or udp/],
    ["8080:80/", /protocol '' is not tcp or udp/],
    ["localhost:8080:80", /'localhost' is not an IP address/],
    ["[127.0.0.1]:8080:80", /only an IPv6 address goes in brackets/],
    ["[::1:8080:80", /'\[' of an IPv6 address is not closed/],
    ["[::1]8080:80", /a ':' must follow the '\]'/],
    ["1.2.3:8080:80", /'1\.2\.3' is not an IP address/],
  ];
  for (const [text, reason] of table) throws(() => parsePublish(text), reason, text);
});

Deno.test("parseHostService reads [HOST_ADDR:]PORT[=CAGE_PORT]; the cage port is the host's unless given", () => {
  strictEqual(formatHostService(parseHostService("127.0.0.1:5432")), "127.0.0.1:5432=5432");
  strictEqual(formatHostService(parseHostService("5432")), "127.0.0.1:5432=5432");
  strictEqual(formatHostService(parseHostService("[::1]:5432=15432")), "[::1]:5432=15432");
  throws(() => parseHostService("127.0.0.1:5432=0"), /cage port 0 is out of range/);
  throws(() => parseHostService("127.0.0.1:99999"), /host port 99999 is out of range/);
  throws(() => parseHostService("db.local:5432"), /'db\.local' is not an IP address/);
  throws(() => parseHostService("::1:5432"), /too many ':'/);
});

Deno.test("conflictOf finds a host port published twice, a cage port two host services share, and a loop", () => {
  const p = parsePublish;
  const s = parseHostService;
  strictEqual(conflictOf([p("8080:80"), p("8080:80/udp"), p("[::1]:8080:81")], []), undefined);
  strictEqual(
    conflictOf([p("8080:80"), p("127.0.0.1:8080:81")], []),
    "-p 127.0.0.1:8080/tcp is given twice; publish each host port once",
  );
  strictEqual(
    conflictOf([], [s("5432"), s("127.0.0.1:6543=5432")]),
    "two --host-service options use cage port 5432; give one another with =CAGE_PORT",
  );
  strictEqual(conflictOf([p("9000:5432/udp")], [s("5432")]), undefined);
  strictEqual(
    conflictOf([p("9000:5432")], [s("5432")]),
    "cage port 5432 is both published with -p and a --host-service's; give the host service another with =CAGE_PORT",
  );
});
