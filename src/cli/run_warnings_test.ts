import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { optionWarnings, proxyWarning } from "./run_warnings.ts";
import { parseArgs, type RunOptions } from "./args.ts";

const ROOT = { isRoot: () => true };

function options(argv: string[]): RunOptions {
  const command = parseArgs([...argv, "--", "true"], ROOT);
  if (command.kind !== "run") throw new Error(command.kind);
  return command.options;
}

Deno.test("proxyWarning names every proxy variable, in any case, and how to leave them out", () => {
  strictEqual(proxyWarning({ PATH: "/bin", no_proxy: "localhost", http_proxy: "" }), undefined);
  strictEqual(
    proxyWarning({ https_proxy: "http://10.1.1.1:3128", ALL_PROXY: "socks5://127.0.0.1:1080" }),
    "wgcage: Warning: ALL_PROXY, https_proxy pass into the cage: CMD's web traffic goes to " +
      "that proxy (a proxy on the host's loopback is out of reach); to leave them out, run: " +
      "env -u ALL_PROXY -u https_proxy wgcage …",
  );
  strictEqual(
    proxyWarning({ HTTP_PROXY: "http://proxy:8080" }),
    "wgcage: Warning: HTTP_PROXY passes into the cage: CMD's web traffic goes to that proxy " +
      "(a proxy on the host's loopback is out of reach); to leave it out, run: " +
      "env -u HTTP_PROXY wgcage …",
  );
});

Deno.test("optionWarnings: --no-userns always, --keep-socket without --hide-sockets", () => {
  deepStrictEqual(optionWarnings(options(["--config", "c"])), []);
  deepStrictEqual(optionWarnings(options(["--hide-sockets", "--keep-socket", "/run/a.sock"])), []);
  const both = optionWarnings(options(["--no-userns", "--keep-socket", "/run/a.sock"]));
  strictEqual(both.length, 2);
  strictEqual(both[0].startsWith("wgcage: Warning: --no-userns: NO BOUNDARY:"), true);
  strictEqual(
    both[1].startsWith(
      "wgcage: Warning: --keep-socket '/run/a.sock' changes nothing without --hide-sockets",
    ),
    true,
  );
  // The system bus's socket is hidden by default: keeping it is the point.
  deepStrictEqual(optionWarnings(options(["--keep-socket", "/run/dbus/system_bus_socket"])), []);
});
