/**
 * The folders of src/ are layers (src/README.md): imports between them run
 * one way only, and a `_` file is private to its folder. This test reads the
 * module graph `deno info --json` gives for src/main.ts (and every other
 * module of src/, so that none escapes) and fails on a cycle between folders
 * or on an import of another folder's `_` file; the same rule about `_` files
 * is checked by reading the imports of the tests, benchmarks and tools.
 *
 * A file directly in src/ (main.ts, tunnel.ts, …) is a layer of its own.
 */

import { deepStrictEqual, strictEqual } from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const SRC = new URL("./", import.meta.url);

/** One import: the importing file and the imported one, as paths from the repository root. */
interface Edge {
  readonly from: string;
  readonly to: string;
}

function relative(url: string): string | undefined {
  return url.startsWith(ROOT.href) ? decodeURIComponent(url.slice(ROOT.href.length)) : undefined;
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/") + 1);
}

/** The layer a file of src/ belongs to: its folder (`cage/`), or the file itself when it sits in src/. */
function layerOf(path: string): string | undefined {
  if (!path.startsWith("src/")) return undefined;
  const rest = path.slice("src/".length);
  const slash = rest.indexOf("/");
  return slash < 0 ? rest : rest.slice(0, slash + 1);
}

/** Imports of a `_` file from another folder, one line each. */
function privateImports(edges: readonly Edge[]): string[] {
  return edges
    .filter((e) => {
      const name = e.to.slice(e.to.lastIndexOf("/") + 1);
      return name.startsWith("_") && dirOf(e.to) !== dirOf(e.from);
    })
    .map((e) => `${e.from} imports ${e.to}, private to ${dirOf(e.to)}`);
}

/**
 * Every cycle between layers, one line each: the layers around it, and for
 * each arrow one import that makes it.
 */
function layerCycles(edges: readonly Edge[]): string[] {
  const arrows = new Map<string, Map<string, Edge>>();
  for (const e of edges) {
    const from = layerOf(e.from);
    const to = layerOf(e.to);
    if (from === undefined || to === undefined || from === to) continue;
    if (!arrows.has(from)) arrows.set(from, new Map());
    if (!arrows.get(from)!.has(to)) arrows.get(from)!.set(to, e);
  }
  // Tarjan's strongly connected components: each one with more than one
  // layer holds a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of [...(arrows.get(v)?.keys() ?? [])].sort()) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component);
    }
  };
  for (const v of [...arrows.keys()].sort()) if (!index.has(v)) visit(v);
  return components.map((component) => {
    const members = new Set(component);
    // One way around: from the first layer, along arrows inside the component, back to it.
    const start = [...members].sort()[0];
    const path = shortestPath(arrows, members, start);
    const steps = path.slice(1).map((to, i) => {
      const e = arrows.get(path[i])!.get(to)!;
      return `${e.from} imports ${e.to}`;
    });
    return `${path.join(" → ")} (${steps.join("; ")})`;
  });
}

/** The shortest way from `start` back to itself through `members`. */
function shortestPath(
  arrows: ReadonlyMap<string, ReadonlyMap<string, Edge>>,
  members: ReadonlySet<string>,
  start: string,
): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of [...(arrows.get(v)?.keys() ?? [])].sort()) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path: string[] = [];
        for (let u = v; u !== start; u = previous.get(u)!) path.unshift(u);
        return [start, ...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

async function walk(dir: URL): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) files.push(...await walk(url));
    else if (entry.name.endsWith(".ts")) files.push(url.href);
  }
  return files;
}

/** The imports among the modules of src/, from `deno info --json`. */
async function srcGraph(): Promise<Edge[]> {
  const modules = (await walk(SRC)).filter((url) =>
    !url.endsWith("_test.ts") && !/\/_[^/]*_asset\.ts$/.test(url)
  );
  // One root that imports src/main.ts and every other module of src/.
  const dir = await Deno.makeTempDir({ prefix: "wgcage-layers-" });
  try {
    const root = `${dir}/root.ts`;
    const main = new URL("main.ts", SRC).href;
    const lines = [main, ...modules.filter((m) => m !== main)].map((m) =>
      `import ${JSON.stringify(m)};`
    );
    await Deno.writeTextFile(root, lines.join("\n") + "\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", new URL("deno.json", ROOT).pathname, root],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`deno info failed: ${new TextDecoder().decode(out.stderr)}`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
      }[];
    };
    const edges: Edge[] = [];
    for (const m of info.modules) {
      const from = relative(m.specifier);
      if (from === undefined || !from.startsWith("src/")) continue;
      for (const d of m.dependencies ?? []) {
        for (const target of [d.code?.specifier, d.type?.specifier]) {
          const to = target === undefined ? undefined : relative(target);
          if (to !== undefined) edges.push({ from, to });
        }
      }
    }
    return edges;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Relative imports (static and dynamic) written in the TypeScript files under `dirs`. */
async function writtenImports(dirs: readonly string[]): Promise<Edge[]> {
  const edges: Edge[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g;
  for (const dir of dirs) {
    for (const url of await walk(new URL(dir, ROOT))) {
      const from = relative(url)!;
      if (/\/_[^/]*_asset\.ts$/.test(from)) continue;
      const text = await Deno.readTextFile(new URL(url));
      for (const match of text.matchAll(pattern)) {
        edges.push({ from, to: relative(new URL(match[1], url).href) ?? match[1] });
      }
    }
  }
  return edges;
}

Deno.test("the folders of src/ import each other one way only, and no folder's _ files from outside it", async () => {
  const edges = await srcGraph();
  strictEqual(edges.some((e) => e.from === "src/main.ts"), true, "the graph holds src/main.ts");
  deepStrictEqual(layerCycles(edges), []);
  deepStrictEqual(privateImports(edges), []);
});

Deno.test("no test, benchmark or tool imports a _ file of another folder", async () => {
  const edges = await writtenImports(["src/", "tests/", "bench/", "tools/", "testdata/"]);
  strictEqual(edges.length > 100, true, `imports were found (${edges.length})`);
  deepStrictEqual(privateImports(edges), []);
});

Deno.test("a cycle between folders is found and named with the imports that make it", () => {
  const edges: Edge[] = [
    { from: "src/main.ts", to: "src/cli/run.ts" },
    { from: "src/cli/run.ts", to: "src/cage/cage.ts" },
    { from: "src/cage/cage.ts", to: "src/datapath/io.ts" },
    { from: "src/datapath/io.ts", to: "src/cage/ffi.ts" },
    { from: "src/cage/cage.ts", to: "src/cage/ffi.ts" },
  ];
  deepStrictEqual(layerCycles(edges), [
    "cage/ → datapath/ → cage/ (src/cage/cage.ts imports src/datapath/io.ts; " +
    "src/datapath/io.ts imports src/cage/ffi.ts)",
  ]);
  deepStrictEqual(layerCycles(edges.filter((e) => e.from !== "src/datapath/io.ts")), []);
});

Deno.test("a file in src/ is a layer of its own, apart from src/'s folders", () => {
  const edges: Edge[] = [
    { from: "src/main.ts", to: "src/cli/run.ts" },
    { from: "src/cli/run.ts", to: "src/tunnel.ts" },
    { from: "src/tunnel.ts", to: "src/cage/cage.ts" },
  ];
  deepStrictEqual(layerCycles(edges), []);
  deepStrictEqual(layerCycles([...edges, { from: "src/tunnel.ts", to: "src/cli/x.ts" }]), [
    "cli/ → tunnel.ts → cli/ (src/cli/run.ts imports src/tunnel.ts; src/tunnel.ts imports src/cli/x.ts)",
  ]);
});

Deno.test("an import of another folder's _ file is named; one in the same folder is allowed", () => {
  deepStrictEqual(
    privateImports([
      { from: "src/tunnel.ts", to: "src/cage/_ffi.ts" },
      { from: "src/cage/cage.ts", to: "src/cage/_ffi.ts" },
      { from: "tests/x_test.ts", to: "src/wg/_wasm_asset.ts" },
    ]),
    [
      "src/tunnel.ts imports src/cage/_ffi.ts, private to src/cage/",
      "tests/x_test.ts imports src/wg/_wasm_asset.ts, private to src/wg/",
    ],
  );
});
