/**
 * A way into a live cage's control socket for a test process: the keeper
 * serves only clients in its own network namespace, and a test's keeper runs
 * in a namespace the lab made.
 *
 * @module
 */

import { type Lab, type Namespace, requireTool } from "./netns.ts";
import { waitUntil } from "./process.ts";

/**
 * A path this process can connect to that reaches the unix socket `target`
 * from inside `ns` (socat, one relay process a connection). The lab stops
 * the relay and removes its directory. Throws when socat is not listening
 * within 5 s.
 */
export async function relayInNamespace(lab: Lab, ns: Namespace, target: string): Promise<string> {
  await requireTool("socat", "socat");
  const dir = await Deno.makeTempDir({ prefix: "wgc-relay-" });
  lab.defer(() => Deno.remove(dir, { recursive: true }));
  const path = `${dir}/relay.sock`;
  ns.spawn(["socat", `UNIX-LISTEN:${path},fork`, `UNIX-CONNECT:${target}`]);
  await waitUntil(
    () => Deno.stat(path).then(() => true, () => false),
    `socat listening on ${path} for ${target}`,
    5_000,
    50,
  );
  return path;
}
