import { deepStrictEqual, strictEqual, throws } from "node:assert";
import {
  BATCH_LIMIT,
  type BatchRequest,
  requestBatch,
  requestDump,
  requestWithAck,
  toleratedRefusal,
} from "./conversation.ts";
import {
  encodeRequest,
  type NetlinkMessage,
  type NetlinkRequest,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_ERROR,
  NLMSG_OVERRUN,
} from "./message.ts";
import {
  datagram,
  doneReply,
  errorReply,
  message,
  ScriptedTransport,
} from "../../testdata/netlink/fake_transport.ts";
import type { NetlinkTransport } from "./transport.ts";

const GET: NetlinkRequest = {
  type: 18,
  flags: NLM_F_REQUEST,
  header: new Uint8Array(16),
  attributes: [],
};
const describe = () => ({ what: "do the thing", hint: "try the fix" });

function object(seq: number, tag: number, flags = 0): Uint8Array {
  return message(16, flags, seq, new Uint8Array([tag, 0, 0, 0]));
}

function tags(messages: NetlinkMessage[]): number[] {
  return messages.map((m) => m.payload[0]);
}

Deno.test("requestWithAck sets NLM_F_ACK and returns what came before the ack", () => {
  const nl = new ScriptedTransport((request) => [object(request.seq, 7), errorReply(request, 0)]);
  deepStrictEqual(tags(requestWithAck(nl, GET, describe)), [7]);
  strictEqual(nl.sent[0].flags, NLM_F_REQUEST | NLM_F_ACK);
});

Deno.test("sequence numbers grow with every request and are never reused by a new transport", () => {
  const a = new ScriptedTransport((request) => [errorReply(request, 0)]);
  const b = new ScriptedTransport((request) => [errorReply(request, 0)]);
  requestWithAck(a, GET, describe);
  requestWithAck(a, GET, describe);
  requestWithAck(b, GET, describe);
  requestWithAck(a, GET, describe);
  const first = a.sent[0].seq;
  strictEqual(first > 0, true);
  deepStrictEqual(a.sent.map((m) => m.seq), [first, first + 1, first + 3]);
  deepStrictEqual(b.sent.map((m) => m.seq), [first + 2]);
});

Deno.test("a late reply to an abandoned request is not taken for the next answer", () => {
  let late: Uint8Array | undefined;
  const nl = new ScriptedTransport((request) => {
    if (late === undefined) {
      late = errorReply(request, 17);
      throw new Error("Cannot read the kernel's netlink reply: none within 1000 ms");
    }
    return [late, errorReply(request, 0)];
  });
  throws(() => requestWithAck(nl, GET, describe), /none within/);
  deepStrictEqual(requestWithAck(nl, GET, describe), []);
});

Deno.test("replies to other sequence numbers are skipped", () => {
  const nl = new ScriptedTransport((request) => [
    datagram(object(request.seq + 5, 1), errorReply({ ...request, seq: request.seq - 1 }, 17)),
    datagram(object(request.seq, 2), errorReply(request, 0)),
  ]);
  deepStrictEqual(tags(requestWithAck(nl, GET, describe)), [2]);
});

Deno.test("an error reply becomes a NetlinkError with errno and a one-line message", () => {
  const nl = new ScriptedTransport((request) => [errorReply(request, 17)]);
  throws(() => requestWithAck(nl, GET, describe), (error: unknown) => {
    strictEqual((error as Error).name, "NetlinkError");
    strictEqual((error as { errno: number }).errno, 17);
    strictEqual((error as Error).message, "Cannot do the thing: File exists (EEXIST); try the fix");
    return true;
  });
});

Deno.test("the kernel's extended-ack text is quoted, after an uncapped echo of the request too", () => {
  const capped = new ScriptedTransport((request) => [errorReply(request, 22, "Invalid prefix")]);
  throws(() => requestWithAck(capped, GET, describe), {
    message:
      'Cannot do the thing: Invalid argument (EINVAL, kernel says "Invalid prefix"); try the fix',
  });
  // Uncapped: the whole 32-byte request is echoed before the attributes.
  const uncapped = new ScriptedTransport((request) => {
    const text = new TextEncoder().encode("Nexthop device is not up\0");
    const payload = new Uint8Array(4 + 32 + ((4 + text.length + 3) & ~3));
    const view = new DataView(payload.buffer);
    view.setInt32(0, -100, true);
    view.setUint32(4, 32, true);
    view.setUint16(36, 4 + text.length, true);
    view.setUint16(38, 1, true);
    payload.set(text, 40);
    return [message(NLMSG_ERROR, 0x200, request.seq, payload)];
  });
  throws(() => requestWithAck(uncapped, GET, describe), {
    message:
      'Cannot do the thing: Network is down (ENETDOWN, kernel says "Nexthop device is not up"); try the fix',
  });
});

Deno.test("requestDump collects multipart replies across datagrams up to NLMSG_DONE", () => {
  const nl = new ScriptedTransport((request) => [
    datagram(object(request.seq, 1, NLM_F_MULTI), object(request.seq, 2, NLM_F_MULTI)),
    datagram(object(request.seq, 3, NLM_F_MULTI)),
    doneReply(request.seq),
  ]);
  deepStrictEqual(tags(requestDump(nl, GET, describe)), [1, 2, 3]);
  strictEqual(nl.sent[0].flags, NLM_F_REQUEST | NLM_F_DUMP);
});

Deno.test("a dump's objects survive the receive buffer being reused", () => {
  const nl = new ScriptedTransport((request) => [
    object(request.seq, 1, NLM_F_MULTI),
    object(request.seq, 2, NLM_F_MULTI),
    doneReply(request.seq),
  ]);
  deepStrictEqual(tags(requestDump(nl, GET, describe)), [1, 2]);
});

Deno.test("an error in NLMSG_DONE or an NLMSG_ERROR fails the dump", () => {
  const done = new ScriptedTransport((request) => [doneReply(request.seq, 90)]);
  throws(() => requestDump(done, GET, describe), {
    name: "NetlinkError",
    message: "Cannot do the thing: Message too long (EMSGSIZE); try the fix",
  });
  const error = new ScriptedTransport((request) => [errorReply(request, 22)]);
  throws(() => requestDump(error, GET, describe), { name: "NetlinkError", message: /EINVAL/ });
});

Deno.test("an interrupted dump is retried, and given up after three attempts", () => {
  let attempts = 0;
  const flaky = new ScriptedTransport((request) => [
    object(request.seq, ++attempts, NLM_F_MULTI | (attempts < 3 ? NLM_F_DUMP_INTR : 0)),
    doneReply(request.seq),
  ]);
  deepStrictEqual(tags(requestDump(flaky, GET, describe)), [3]);
  const busy = new ScriptedTransport((request) => [
    object(request.seq, 1, NLM_F_MULTI | NLM_F_DUMP_INTR),
    doneReply(request.seq),
  ]);
  throws(() => requestDump(busy, GET, describe), {
    message:
      "Cannot do the thing: the kernel interrupted the dump 3 times because the tables kept changing; try again",
  });
  strictEqual(busy.sent.length, 3);
});

Deno.test("an overrun, an empty read and a truncated datagram are reported", () => {
  const overrun = new ScriptedTransport((
    request,
  ) => [message(NLMSG_OVERRUN, 0, request.seq, new Uint8Array(0))]);
  throws(() => requestWithAck(overrun, GET, describe), {
    message: "Cannot do the thing: the kernel reported a netlink overrun; replies were lost",
  });
  const closed: NetlinkTransport = { send() {}, recv: () => 0 };
  throws(() => requestWithAck(closed, GET, describe), {
    message:
      "Cannot read a netlink reply: the socket returned no data; the netlink socket was closed",
  });
  const truncated: NetlinkTransport = { send() {}, recv: (buf) => buf.length + 100 };
  throws(() => requestWithAck(truncated, GET, describe), {
    message: "Cannot read a netlink reply: a 65636-byte datagram did not fit in 65536 bytes",
  });
});

Deno.test("transport errors pass through unchanged", () => {
  const broken: NetlinkTransport = {
    send() {
      throw new Error("Cannot send: EBADF");
    },
    recv: () => 0,
  };
  throws(() => requestWithAck(broken, GET, describe), { message: "Cannot send: EBADF" });
});

/** A batch request that is told apart by its first header byte and its description. */
function step(
  tag: number,
  extra: { tolerate?: readonly number[]; dump?: boolean } = {},
): BatchRequest {
  const header = new Uint8Array(16);
  header[0] = tag;
  return {
    request: { ...GET, header },
    describe: () => ({ what: `do thing ${tag}`, hint: `fix ${tag}` }),
    ...extra,
  };
}

/** A fake kernel answering each message of a datagram in turn: errno by tag, else an ack. */
function kernelRefusing(errnos: Record<number, number>): ScriptedTransport {
  return new ScriptedTransport((request) => [errorReply(request, errnos[request.payload[0]] ?? 0)]);
}

Deno.test("requestBatch sends its requests in one datagram and names the one the kernel refused", () => {
  const nl = kernelRefusing({ 2: 17 });
  throws(() => requestBatch(nl, [step(1), step(2), step(3)]), {
    name: "NetlinkError",
    message: "Cannot do thing 2: File exists (EEXIST); fix 2",
  });
  strictEqual(nl.sends, 1);
  deepStrictEqual(nl.sent.map((m) => m.payload[0]), [1, 2, 3]);
  deepStrictEqual(nl.sent.map((m) => m.flags), [5, 5, 5]);
  // Every answer of the batch was read: the next request gets its own ack.
  deepStrictEqual(requestWithAck(nl, GET, describe), []);
});

Deno.test("requestBatch throws the first refusal in order, not the last", () => {
  const nl = kernelRefusing({ 2: 1, 3: 17 });
  throws(() => requestBatch(nl, [step(1), step(2), step(3)]), {
    message: "Cannot do thing 2: Operation not permitted (EPERM); fix 2",
  });
});

Deno.test("requestBatch counts a tolerated errno as done and keeps the refusal for the caller", () => {
  const nl = kernelRefusing({ 2: 95 });
  const steps = [step(1), step(2, { tolerate: [95] }), step(3)];
  const answers = requestBatch(nl, steps);
  strictEqual(answers.length, 3);
  strictEqual(toleratedRefusal(steps[0], answers[0]), undefined);
  strictEqual(
    toleratedRefusal(steps[1], answers[1])?.message,
    "Cannot do thing 2: Operation not supported (EOPNOTSUPP); fix 2",
  );
  strictEqual(toleratedRefusal(steps[2], answers[2]), undefined);
});

Deno.test("requestBatch returns each request's answer, a dump's objects last", () => {
  const nl = new ScriptedTransport((request) =>
    request.flags & NLM_F_DUMP
      ? [
        datagram(object(request.seq, 8, NLM_F_MULTI), object(request.seq, 9, NLM_F_MULTI)),
        doneReply(request.seq),
      ]
      : [datagram(object(request.seq, request.payload[0]), errorReply(request, 0))]
  );
  const answers = requestBatch(nl, [step(1), step(2), step(3, { dump: true })]);
  deepStrictEqual(answers.map(tags), [[1], [2], [8, 9]]);
  strictEqual(nl.sends, 1);
  throws(() => requestBatch(nl, [step(1, { dump: true }), step(2)]), {
    name: "RangeError",
    message: "Cannot batch netlink requests: only the last request may be a dump",
  });
});

Deno.test(`requestBatch sends at most ${BATCH_LIMIT} requests a datagram and stops after a refused one`, () => {
  const many = Array.from({ length: BATCH_LIMIT + 6 }, (_, i) => step(i % 200));
  const nl = kernelRefusing({});
  strictEqual(requestBatch(nl, many).length, many.length);
  strictEqual(nl.sends, 2);
  const refusing = kernelRefusing({ 5: 17 });
  throws(() => requestBatch(refusing, many), { message: /^Cannot do thing 5: File exists/ });
  strictEqual(refusing.sends, 1);
  strictEqual(refusing.sent.length, BATCH_LIMIT);
});

Deno.test("a refusal is reported even when a later read of its batch fails", () => {
  // The second request is never answered: the fake kernel's read throws.
  const nl = new ScriptedTransport((request) =>
    request.payload[0] === 1 ? [errorReply(request, 17)] : []
  );
  throws(() => requestBatch(nl, [step(1), step(2)]), {
    message: "Cannot do thing 1: File exists (EEXIST); fix 1",
  });
});

Deno.test("a batch request given encoded is sent as those bytes, with its own sequence number", () => {
  const nl = kernelRefusing({ 7: 1 });
  const encoded = (seq: number) =>
    encodeRequest({
      ...GET,
      header: new Uint8Array([7, ...new Uint8Array(15)]),
      flags: NLM_F_REQUEST | NLM_F_ACK,
    }, seq);
  throws(
    () =>
      requestBatch(nl, [step(1), {
        encoded,
        describe: () => ({ what: "do thing 7", hint: "fix 7" }),
      }]),
    { name: "NetlinkError", message: "Cannot do thing 7: Operation not permitted (EPERM); fix 7" },
  );
  strictEqual(nl.sends, 1);
  strictEqual(nl.sent[1].payload[0], 7);
  strictEqual(nl.sent[1].flags, NLM_F_REQUEST | NLM_F_ACK);
  strictEqual(nl.sent[1].seq !== nl.sent[0].seq, true);
});
