import { deepStrictEqual as assertEquals } from "node:assert";
import {
  Coalesce,
  coalescedProtocols,
  describeTunOffloads,
  TUN_VNET,
  TunOffload,
} from "./offloads.ts";

const { CSUM, TSO4, TSO6, TSO_ECN, USO4, USO6 } = TunOffload;

Deno.test("TUN writes coalesce TCP with TSO, UDP with USO, nothing without the header or the wish", () => {
  const all = TUN_VNET | CSUM | TSO4 | TSO6 | TSO_ECN | USO4 | USO6;
  assertEquals(coalescedProtocols(all, true), Coalesce.TCP | Coalesce.UDP);
  assertEquals(coalescedProtocols(all, false), 0);
  // a kernel before 6.2 takes no USO
  assertEquals(coalescedProtocols(TUN_VNET | CSUM | TSO4 | TSO6, true), Coalesce.TCP);
  // one family's offload is not enough; without the checksum offload, none
  assertEquals(coalescedProtocols(TUN_VNET | CSUM | TSO4 | USO4 | USO6, true), Coalesce.UDP);
  assertEquals(coalescedProtocols(TUN_VNET | TSO4 | TSO6 | USO4 | USO6, true), 0);
  assertEquals(coalescedProtocols(all & ~TUN_VNET, true), 0);
});

Deno.test("-v names the TUN's offloads and what its writes coalesce", () => {
  const state = TUN_VNET | CSUM | TSO4 | TSO6 | USO4 | USO6;
  assertEquals(
    describeTunOffloads(state, Coalesce.TCP | Coalesce.UDP),
    "TUN virtio header on (csum tso4 tso6 uso4 uso6), coalescing on (TCP, UDP)",
  );
  assertEquals(
    describeTunOffloads(TUN_VNET | CSUM | TSO4 | TSO6, Coalesce.TCP),
    "TUN virtio header on (csum tso4 tso6), coalescing on (TCP)",
  );
  assertEquals(
    describeTunOffloads(TUN_VNET, 0),
    "TUN virtio header on (no offloads), coalescing off",
  );
  assertEquals(describeTunOffloads(0, 0), "TUN virtio header off");
});
