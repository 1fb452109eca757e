import { deepStrictEqual, strictEqual } from "node:assert";
import { httpError, parseHttpProxy } from "./http_proxy.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

Deno.test("CONNECT host:port, with the bytes after the head left for the target", () => {
  const head = "CONNECT web.tunnel.test:443 HTTP/1.1\r\nHost: web.tunnel.test:443\r\n\r\n";
  const step = parseHttpProxy(enc(`${head}\x16\x03\x01`));
  deepStrictEqual(step, {
    kind: "connect",
    host: "web.tunnel.test",
    port: 443,
    consumed: head.length,
  });
  deepStrictEqual(parseHttpProxy(enc("CONNECT [fd00::5]:22 HTTP/1.1\r\n\r\n")).kind, "connect");
  strictEqual(parseHttpProxy(enc("CONNECT web HTTP/1.1\r\n\r\n")).kind, "refuse");
});

Deno.test("a plain request goes on in origin form, without hop-by-hop headers, with Connection: close", () => {
  const step = parseHttpProxy(
    enc(
      "GET http://web.tunnel.test:8000/page.txt?x=1 HTTP/1.1\r\nHost: web.tunnel.test:8000\r\n" +
        "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\nAccept: */*\r\n\r\n",
    ),
  );
  strictEqual(step.kind, "connect");
  if (step.kind !== "connect") return;
  strictEqual(step.port, 8000);
  strictEqual(
    dec(step.head),
    "GET /page.txt?x=1 HTTP/1.1\r\nHost: web.tunnel.test:8000\r\nAccept: */*\r\nConnection: close\r\n\r\n",
  );
  const bare = parseHttpProxy(enc("GET http://web HTTP/1.0\r\n\r\n"));
  strictEqual(bare.kind === "connect" && dec(bare.head).startsWith("GET / HTTP/1.0\r\n"), true);
  strictEqual(bare.kind === "connect" && bare.port, 80);
});

Deno.test("what is not a proxy request is refused; an unfinished head waits, up to 16 KiB", () => {
  strictEqual(parseHttpProxy(enc("GET http://web/ HTTP/1.1\r\nHost: web\r\n")).kind, "more");
  for (
    const bad of [
      "GET / HTTP/1.1",
      "GET https://web/ HTTP/1.1",
      "HELLO",
      "GET http://a:99999/ HTTP/1.1",
    ]
  ) {
    strictEqual(parseHttpProxy(enc(`${bad}\r\n\r\n`)).kind, "refuse", bad);
  }
  const huge = parseHttpProxy(enc(`GET http://web/ HTTP/1.1\r\nX: ${"a".repeat(16384)}`));
  deepStrictEqual(huge.kind === "refuse" && huge.status, 431);
  // Just under 16 KiB in, over it once rewritten: refused, not dropped by the relay.
  strictEqual(24 + 2725 * 6 + 2 <= 16384, true);
  const big = parseHttpProxy(
    enc(`GET http://w/ HTTP/1.1\r\n${"X: y\r\n".repeat(2725)}\r\n`),
  );
  deepStrictEqual(big.kind === "refuse" && big.status, 431);
  strictEqual(dec(httpError(502, "why")).startsWith("HTTP/1.1 502 Bad Gateway\r\n"), true);
});
