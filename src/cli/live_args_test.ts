import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { UsageError } from "./args.ts";
import {
  isLiveSubcommand,
  LIVE_SUBCOMMANDS,
  type LiveCommand,
  parseLiveCommand,
} from "./live_args.ts";
import { helpText, USAGE } from "./usage.ts";

const ROOTLESS = { isRoot: () => false };

/** One table row: argv after the subcommand, and what it parses to (the up rows check less). */
const PARSED: [string, Parameters<typeof parseLiveCommand>[0], string[], LiveCommand][] = [
  ["1 exec with --", "exec", ["ci", "--", "curl", "-v"], {
    kind: "exec",
    name: "ci",
    argv: ["curl", "-v"],
    verbose: false,
  }],
  ["2 exec without -- keeps the command's own options", "exec", ["ci", "ls", "-l", "--"], {
    kind: "exec",
    name: "ci",
    argv: ["ls", "-l", "--"],
    verbose: false,
  }],
  ["2b exec -v before the name; after it, -v is the command's", "exec", ["-v", "ci", "a", "-v"], {
    kind: "exec",
    name: "ci",
    argv: ["a", "-v"],
    verbose: true,
  }],
  ["3 down", "down", ["ci"], { kind: "down", name: "ci" }],
  ["4 ls", "ls", [], { kind: "ls", json: false }],
  ["5 ls --json", "ls", ["--json"], { kind: "ls", json: true }],
  ["6 show, every cage", "show", [], { kind: "show", json: false }],
  ["7 show NAME --json", "show", ["ci", "--json"], { kind: "show", name: "ci", json: true }],
  ["8 show --json NAME", "show", ["--json", "ci"], { kind: "show", name: "ci", json: true }],
  ["9 set keeps wg set's words", "set", ["ci", "peer", "K", "remove"], {
    kind: "set",
    name: "ci",
    args: ["peer", "K", "remove"],
  }],
  ["10 syncconf", "syncconf", ["ci", "wg0.conf"], {
    kind: "syncconf",
    name: "ci",
    file: "wg0.conf",
  }],
  ["11 wg", "wg", ["ci", "show", "dump"], { kind: "wg", name: "ci", args: ["show", "dump"] }],
];

for (const [name, sub, args, want] of PARSED) {
  Deno.test(`parseLiveCommand ${name}`, () => {
    deepStrictEqual(parseLiveCommand(sub, args, ROOTLESS), want);
  });
}

/** Rows that are refused: a UsageError whose one line says this. */
const REFUSED: [string, Parameters<typeof parseLiveCommand>[0], string[], RegExp][] = [
  ["1 up without a name", "up", [], /'up' needs the cage's name first/],
  ["2 up with an option where the name goes", "up", ["-d"], /'up' needs the cage's name first/],
  ["3 up with a command", "up", ["ci", "--config", "w.conf", "curl"], /takes options only/],
  ["4 exec without a command", "exec", ["ci"], /No command to run in 'ci'/],
  ["5 exec with only --", "exec", ["ci", "--"], /No command to run in 'ci'/],
  ["6 down with two names", "down", ["a", "b"], /'down' takes one name/],
  ["7 ls with a name", "ls", ["ci"], /Unexpected 'ci' after 'ls'/],
  ["8 show with two names", "show", ["a", "b"], /at most one name/],
  ["9 show with an unknown option", "show", ["-x"], /at most one name/],
  ["10 set without a change", "set", ["ci"], /needs what to change/],
  ["11 syncconf without a file", "syncconf", ["ci"], /takes a name and a file/],
  ["12 syncconf with two files", "syncconf", ["ci", "a", "b"], /takes a name and a file/],
  ["13 wg without a subcommand", "wg", ["ci"], /needs a wg subcommand/],
];

for (const [name, sub, args, message] of REFUSED) {
  Deno.test(`parseLiveCommand refuses ${name}`, () => {
    throws(() => parseLiveCommand(sub, args, ROOTLESS), (e: unknown) => {
      strictEqual(e instanceof UsageError, true);
      strictEqual((e as UsageError).exitCode, 125);
      strictEqual((e as Error).message.includes("\n"), false);
      strictEqual(message.test((e as Error).message), true, (e as Error).message);
      return true;
    });
  });
}

Deno.test("parseLiveCommand up: -d and --rm-when-idle are up's; the keeper gets all but -d", () => {
  const c = parseLiveCommand(
    "up",
    ["ci", "--config", "w.conf", "-d", "--rm-when-idle", "-v"],
    ROOTLESS,
  );
  if (c.kind !== "up") throw new Error(c.kind);
  strictEqual(c.name, "ci");
  strictEqual(c.detach, true);
  strictEqual(c.rmWhenIdle, true);
  deepStrictEqual(c.keeperArgs, ["ci", "--config", "w.conf", "--rm-when-idle", "-v"]);
  deepStrictEqual(c.options.config, { kind: "file", path: "w.conf" });
  strictEqual(c.options.verbose, true);

  const fg = parseLiveCommand("up", ["ci", "--detach", "--config", "w.conf"], ROOTLESS);
  if (fg.kind !== "up") throw new Error(fg.kind);
  strictEqual(fg.detach, true);
  strictEqual(fg.rmWhenIdle, false);
  deepStrictEqual(fg.keeperArgs, ["ci", "--config", "w.conf"]);
});

Deno.test("up: --die-with-parent is kept in the foreground and refused with -d", () => {
  const fg = parseLiveCommand("up", ["ci", "--config", "w.conf", "--die-with-parent"], ROOTLESS);
  if (fg.kind !== "up") throw new Error(fg.kind);
  strictEqual(fg.options.dieWithParent, true);
  throws(
    () => parseLiveCommand("up", ["ci", "-d", "--config", "w.conf", "--die-with-parent"], ROOTLESS),
    (e: Error) =>
      e instanceof UsageError &&
      e.message.startsWith("wgcage: '-d' and '--die-with-parent' contradict each other"),
  );
});

Deno.test("isLiveSubcommand knows the live subcommands only", () => {
  for (const w of ["up", "exec", "down", "ls", "show", "set", "syncconf", "wg"]) {
    strictEqual(isLiveSubcommand(w), true, w);
  }
  for (const w of [undefined, "", "run", "help", "--config", "UP"]) {
    strictEqual(isLiveSubcommand(w), false, String(w));
  }
});

Deno.test("'wgcage help live' covers every live subcommand, the state directory and --rm-when-idle", () => {
  const text = helpText("live")!;
  for (const sub of LIVE_SUBCOMMANDS) strictEqual(text.includes(`wgcage ${sub} `), true, sub);
  for (
    const words of [
      "--rm-when-idle",
      "--die-with-parent (foreground only)",
      "$XDG_RUNTIME_DIR/wgcage/",
      "/run/wgcage/",
      "/tmp/wgcage-UID",
      "0700",
      "/var/run/wireguard/NAME.sock",
      "kill -9",
    ]
  ) strictEqual(text.includes(words), true, words);
  for (const sub of LIVE_SUBCOMMANDS) strictEqual(USAGE.includes(sub), true, sub);
  strictEqual(
    USAGE.includes("wgcage help [config | exit | cage | ports | live | SUBCOMMAND]"),
    true,
  );
});
