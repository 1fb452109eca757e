import { rejects } from "node:assert";
import { serverCommand } from "./server_command.ts";

Deno.test("'server add' refuses a URL that is not http(s) in one line naming the fix", async () => {
  // Refused before any token is read or any connection made.
  await rejects(serverCommand(["add", "office", "ftp://vpn.example.com", "--token-file", "t"]), {
    name: "ServeError",
    exitCode: 125,
    message: "wgcage: 'ftp://vpn.example.com' is not an http(s) URL; give the server's " +
      "https:// URL, e.g. https://vpn.example.com:8443",
  });
});
