/**
 * apt's source entries in the two forms a Debian 12 machine can hold them,
 * for `deno task test:fresh`, which gives its fresh root each form in turn:
 *
 * - one-line, `/etc/apt/sources.list`: what Debian's installer and
 *   debootstrap write (`deb [signed-by=K] URI SUITE COMPONENT…`);
 * - deb822, `/etc/apt/sources.list.d/debian.sources`: what Docker's debian
 *   images ship (stanzas of `Types:`, `URIs:`, `Suites:`, `Components:`).
 *
 * Only what both forms can say is kept: the type, URI, suite, components and
 * signing key; disabled entries are dropped.
 *
 * @module
 */

/** One source: a type (deb, deb-src), an archive, a suite and its components. */
export interface AptSource {
  readonly type: string;
  readonly uri: string;
  readonly suite: string;
  readonly components: readonly string[];
  readonly signedBy?: string;
}

/** The entries of one-line files (`*.list`) and deb822 files (`*.sources`), in order. */
export function parseAptSources(files: readonly { name: string; text: string }[]): AptSource[] {
  const out: AptSource[] = [];
  for (const { name, text } of files) {
    if (name.endsWith(".sources")) out.push(...parseDeb822(text));
    else out.push(...parseOneLine(text));
  }
  return out;
}

function parseOneLine(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const signedBy = /(?:^|\s)signed-by=(\S+)/.exec(m[2] ?? "")?.[1];
    out.push({
      type: m[1],
      uri: m[3],
      suite: m[4],
      components: m[5].split(/\s+/).filter(Boolean),
      ...(signedBy ? { signedBy } : {}),
    });
  }
  return out;
}

function parseDeb822(text: string): AptSource[] {
  const out: AptSource[] = [];
  const lines = text.split("\n").filter((l) => !/^\s*#/.test(l));
  for (const stanza of lines.join("\n").split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of stanza.split("\n")) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) fields.set(m[1].toLowerCase(), m[2].trim());
    }
    if ((fields.get("enabled") ?? "yes").toLowerCase() === "no") continue;
    const words = (field: string) => (fields.get(field) ?? "").split(/\s+/).filter(Boolean);
    const signedBy = fields.get("signed-by") || undefined;
    for (const type of words("types")) {
      for (const uri of words("uris")) {
        for (const suite of words("suites")) {
          out.push({
            type,
            uri,
            suite,
            components: words("components"),
            ...(signedBy ? { signedBy } : {}),
          });
        }
      }
    }
  }
  return out;
}

/** The entries as the installer writes /etc/apt/sources.list. */
export function renderOneLine(sources: readonly AptSource[]): string {
  return sources.map((s) =>
    [s.type, ...(s.signedBy ? [`[signed-by=${s.signedBy}]`] : []), s.uri, s.suite, ...s.components]
      .join(" ") + "\n"
  ).join("");
}

/** The entries as Docker's debian image writes sources.list.d/debian.sources: one stanza each. */
export function renderDeb822(sources: readonly AptSource[]): string {
  return sources.map((s) =>
    `Types: ${s.type}\nURIs: ${s.uri}\nSuites: ${s.suite}\n` +
    `Components: ${s.components.join(" ")}\n` +
    (s.signedBy ? `Signed-By: ${s.signedBy}\n` : "")
  ).join("\n");
}
