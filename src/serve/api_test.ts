import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { type ApiContext, startApi } from "./api.ts";
import { ClientStore } from "./store.ts";
import { Subnet } from "./subnet.ts";
import { parseCidr } from "../config/cidr.ts";
import { CAPS } from "../live/caps.ts";
import type { LiveDevice } from "../live/live_device.ts";
import type { ServeOptions } from "./options.ts";

function keyOf(i: number): string {
  const b = new Uint8Array(32);
  new DataView(b.buffer).setUint32(0, i + 1);
  return b.toBase64();
}

Deno.test("the API answers 507, and adds nothing, once the server holds as many clients as a live device can", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgc-api-" });
  try {
    const subnet = parseCidr("10.100.0.0/16");
    const clients = Array.from({ length: CAPS.peers }, (_, i) => ({
      publicKey: keyOf(i),
      address: `10.100.${(i + 2) >> 8}.${(i + 2) & 255}`,
      created: 0,
    }));
    await Deno.writeTextFile(`${dir}/clients.json`, JSON.stringify({ version: 1, clients }));
    await Deno.chmod(dir, 0o700);
    const store = ClientStore.open(dir);
    let touched = 0;
    const device = {
      publicKey: () => new Uint8Array(32).fill(7).buffer,
      apply: () => touched++,
    } as unknown as LiveDevice;
    const options = {
      subnet,
      listenPort: 51820,
      name: "serve",
      noEgress: true,
      insecureHttp: true,
      verbose: false,
      forwards: [],
      privateKeyFile: "/nonexistent",
    } as unknown as ServeOptions;
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const ctx = {
      listen: { hostname: "127.0.0.1", port },
      token: new TextEncoder().encode("a-token-of-sixteen-or-more"),
      options,
      stateDir: dir,
      store,
      subnet: new Subnet(subnet),
      v6Of: () => undefined,
      device,
      say: () => {},
      onPeer: () => Promise.resolve(),
      forwards: { store: undefined, forwarder: undefined },
    } as unknown as ApiContext;
    const api = await startApi(ctx);
    try {
      const res = await fetch(`${api.url}/v1/clients`, {
        method: "POST",
        headers: { authorization: "Bearer a-token-of-sixteen-or-more" },
        body: JSON.stringify({ public_key: keyOf(CAPS.peers + 5) }),
      });
      const body = await res.json();
      strictEqual(res.status, 507, JSON.stringify(body));
      strictEqual(String(body.error).includes(`${CAPS.peers} clients`), true, body.error);
      strictEqual(store.size, CAPS.peers);
      strictEqual(touched, 0, "the device was not changed");
      const kept = JSON.parse(await Deno.readTextFile(`${dir}/clients.json`));
      deepStrictEqual(kept.clients.length, CAPS.peers);
    } finally {
      await api.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
