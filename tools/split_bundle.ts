/**
 * wgcage bundled as a main module and chunks loaded on demand, so that a run
 * (`wgcage --config c -- cmd`) compiles only the code a run calls: V8 takes
 * ~1 ms per 100 KB to load a module even from its code cache, and `serve`,
 * `server`, the live tools, the demo and the key commands are a third of the
 * program. Used by build.ts (the bundle from source) and tools/release.ts
 * (the npm package).
 *
 * `deno bundle --code-splitting` makes each module that `src/wgcage.ts`
 * imports with `import()` a chunk of its own, loaded when imported. Left to
 * itself it would also put the modules that a run shares with a lazy command
 * into a chunk per set of commands sharing them: a run would load some twenty
 * files. So each lazy module is bundled through a small wrapper (an import map
 * scoped to src/ points the program's imports of it there) that first imports
 * everything the program itself imports statically: every module a run needs
 * is then reached by every entry, and lands in one shared chunk. A run loads
 * two files: the program's own module and that chunk. Modules stay single
 * instances (one `UsageError` class, one launcher), which separate bundles
 * per command would not give.
 *
 * The files are laid out flat, the chunks beside the main module and named
 * after it (`wgcage.js`, `wgcage.chunk-….js`, `wgcage.serve_command-….js`):
 * `import.meta.url` is then the same directory in every chunk, for the files
 * read beside it. esbuild names each chunk by a hash of its content, so a
 * rebuild writes new names and a process still holding the old main module
 * finds its old chunks.
 *
 * @module
 */

/**
 * Runs `deno ARGS` with `env` set besides the variables it inherits (the
 * caller's way: errors) and returns its stdout.
 */
export type DenoRunner = (
  args: string[],
  what: string,
  env: Record<string, string>,
) => Promise<string>;

export interface SplitOptions {
  /** The directory holding `src/` and `deno.json`, as a path ending in `/`. */
  root: string;
  /** The program, from root: `src/wgcage.ts`. */
  entry: string;
  /** A directory for the wrappers and the bundler's output, removed first and after. */
  work: string;
  /** The main module's file name, `wgcage.js`; each chunk is named `wgcage.<chunk>`. */
  name: string;
  deno: DenoRunner;
}

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** A relative import in the bundler's output: `from "./x.js"`, `import "./x.js"`, `import("./x.js")`. */
const RELATIVE_IMPORT = /(\bfrom\s*|\bimport\s*\(?\s*)"\.\/([A-Za-z0-9_.-]+\.js)"/g;

/**
 * Every `import("…")` in `text`, deferred ({@link deferDynamicImports}) or
 * not: what a bundle still loads besides its static imports.
 */
export function dynamicImports(text: string): string[] {
  return [...text.matchAll(/\bimport\(\s*(?:String\(\s*)?["']([^"']+)["']/g)].map((m) => m[1]);
}

/**
 * `text` with each `import("./x.js")` of a chunk written
 * `import(String("./x.js"))`. Deno reads every module whose dynamic import
 * names it in a string literal before the program's first line runs, as part
 * of the module graph: for the main module that is every command's chunk,
 * some twenty files, ~1 ms of every run's start. An import whose specifier
 * is an expression it leaves to the import itself, which reads the chunk
 * when it runs. (A run's own on-demand chunks, the launcher's and the
 * relay's, are imported before the cage is cloned, so that a caged command
 * that could rewrite the package's files has no chunk of this run to write.)
 */
export function deferDynamicImports(text: string): string {
  return text.replace(/\bimport\(\s*"(\.\/[A-Za-z0-9_.-]+\.js)"\s*\)/g, 'import(String("$1"))');
}

/**
 * The files `main` loads before its first line runs: itself and what it
 * imports statically, transitively (in `files`, the output of {@link splitBundle}).
 */
export function staticClosure(files: ReadonlyMap<string, string>, main: string): string[] {
  const seen: string[] = [];
  const visit = (file: string) => {
    if (seen.includes(file)) return;
    seen.push(file);
    const text = files.get(file);
    if (text === undefined) throw new Error(`${main} imports ${file}, which is not there`);
    for (const m of text.matchAll(RELATIVE_IMPORT)) {
      if (!m[1].includes("(")) visit(m[2]);
    }
  };
  visit(main);
  return seen;
}

/**
 * Bundles `entry` into a main module and chunks; returns each file's name
 * and text, the main module first. The binaries the program embeds are
 * still in them (tools/embedded_assets.ts moves them out).
 */
export async function splitBundle(o: SplitOptions): Promise<Map<string, string>> {
  const rootUrl = new URL(`file://${o.root}`).href;
  const entryUrl = new URL(o.entry, rootUrl).href;
  // deno bundle fetches esbuild from the npm registry on first use; trust the
  // system's CAs for it as npm does (a registry reached through a proxy whose
  // CA is only in /etc/ssl/certs), besides Deno's own.
  const env = { DENO_TLS_CA_STORE: Deno.env.get("DENO_TLS_CA_STORE") ?? "mozilla,system" };
  const info = JSON.parse(
    await o.deno(
      ["info", "--json", "--no-lock", "--config", `${o.root}deno.json`, `${o.root}${o.entry}`],
      `list the modules of ${o.entry}`,
      env,
    ),
  ) as { modules: InfoModule[] };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const deps = (url: string, dynamic: boolean) =>
    (modules.get(url)?.dependencies ?? [])
      .filter((d) => d.code !== undefined && (d.isDynamic ?? false) === dynamic)
      .map((d) => d.code!.specifier);

  const direct = deps(entryUrl, false);
  const loaded = new Set<string>();
  const load = (url: string) => {
    if (loaded.has(url)) return;
    loaded.add(url);
    for (const d of deps(url, false)) load(d);
  };
  load(entryUrl);
  // A lazy module the program also imports statically is in its chunk anyway.
  const lazy = [...new Set(info.modules.flatMap((m) => deps(m.specifier, true)))]
    .filter((u) => u.startsWith(`${rootUrl}src/`) && !loaded.has(u)).sort();

  await Deno.remove(o.work, { recursive: true }).catch(() => {});
  try {
    const scope: Record<string, string> = {};
    for (const url of lazy) {
      const wrapper = `${o.work}lazy/${url.slice(rootUrl.length)}`;
      await Deno.mkdir(wrapper.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeTextFile(
        wrapper,
        direct.map((d) => `import ${JSON.stringify(d)};\n`).join("") +
          `export * from ${JSON.stringify(url)};\n`,
      );
      scope[url] = new URL(`file://${wrapper}`).href;
    }
    const importMap = `${o.work}import_map.json`;
    await Deno.writeTextFile(
      importMap,
      JSON.stringify({ scopes: { [`${rootUrl}src/`]: scope } }),
    );
    const out = `${o.work}out/`;
    await o.deno(
      [
        "bundle",
        "--quiet",
        "--platform",
        "deno",
        "--no-lock",
        "--config",
        `${o.root}deno.json`,
        "--import-map",
        importMap,
        "--code-splitting",
        "--outdir",
        out,
        `${o.root}${o.entry}`,
      ],
      `bundle ${o.entry}`,
      env,
    );
    const built = new Map<string, string>();
    for await (const e of Deno.readDir(out)) {
      if (!e.isFile || !e.name.endsWith(".js")) {
        throw new Error(`the bundler wrote ${e.name}, not a module`);
      }
      built.set(e.name, await Deno.readTextFile(`${out}${e.name}`));
    }
    return relink(built, o.entry.replace(/^.*\//, "").replace(/\.ts$/, ".js"), o.name);
  } finally {
    await Deno.remove(o.work, { recursive: true }).catch(() => {});
  }
}

/**
 * The bundler's files under their own names: `main` as `name`, each chunk as
 * `name`'s stem and its own name, each import of one changed to match.
 * Dynamic imports are deferred ({@link deferDynamicImports}). Throws when a
 * file imports one that is not there, or anything but a
 * chunk or a `node:` built-in dynamically.
 */
function relink(built: Map<string, string>, main: string, name: string): Map<string, string> {
  if (!built.has(main)) throw new Error(`the bundler wrote no ${main}`);
  const stem = name.replace(/\.js$/, "");
  const renamed = (file: string) => file === main ? name : `${stem}.${file}`;
  const files = new Map<string, string>();
  for (const file of [main, ...[...built.keys()].filter((f) => f !== main).sort()]) {
    const text = built.get(file)!.replace(RELATIVE_IMPORT, (_whole, how: string, to: string) => {
      if (!built.has(to)) {
        throw new Error(`${file} imports ./${to}, which the bundler did not write`);
      }
      if (to === main) throw new Error(`${file} imports the main module`);
      return `${how}"./${renamed(to)}"`;
    });
    const other = dynamicImports(text).filter((s) =>
      !s.startsWith("node:") &&
      !(s.startsWith("./") && [...built.keys()].some((f) => `./${renamed(f)}` === s))
    );
    if (other.length > 0) throw new Error(`${file} still imports ${other.join(", ")}`);
    files.set(renamed(file), deferDynamicImports(text));
  }
  return files;
}
