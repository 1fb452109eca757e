/**
 * The two programs the demo runs inside its cages: a tiny HTTP server on the
 * server cage's tunnel address, and a client that fetches from it. They are
 * wgcage itself, started with a hidden first argument, so the demo needs
 * nothing installed besides wgcage.
 *
 * @module
 */

export const SERVE_ARG = "__demo-serve";
export const FETCH_ARG = "__demo-fetch";

/** Serves a greeting on `host:port` until terminated. */
export async function demoServe(host: string, port: number): Promise<number> {
  const ac = new AbortController();
  Deno.addSignalListener("SIGTERM", () => ac.abort());
  const server = Deno.serve(
    { hostname: host, port, signal: ac.signal, onListen: () => {} },
    (_req, info) => {
      const peer = (info.remoteAddr as Deno.NetAddr).hostname;
      return new Response(
        `hello ${peer}, this is the server cage at ${host}, answering through WireGuard\n`,
      );
    },
  );
  await server.finished;
  return 0;
}

/** Fetches `url`, retrying while the server cage is still starting; prints the body. */
export async function demoFetch(url: string, timeoutMs = 5000): Promise<number> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      const body = await res.text();
      console.log(`GET ${url} -> ${res.status} ${res.statusText}`);
      console.log(body.trimEnd());
      return res.ok ? 0 : 1;
    } catch (e) {
      if (performance.now() > until) {
        console.error(`wgcage demo: Cannot fetch ${url}: ${(e as Error).message}`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
