// Device elements of a domain XML as virsh handles them for detach-disk, detach-interface and
// change-media: the element's own text out of the libvirt-formatted document, and that text as
// libxml2's node dump prints it (double-quoted attributes, its own escaping, indentation kept).

/** Each `<name …>…</name>` element of a libvirt-formatted document, as its exact source text. */
export function elementTexts(xml: string, name: string): string[] {
  const out: string[] = [];
  const open = new RegExp(`<${name}[\\s>/]`, "g");
  for (let m = open.exec(xml); m; m = open.exec(xml)) {
    const start = m.index;
    const selfClose = xml.indexOf("/>", start);
    const gt = xml.indexOf(">", start);
    if (selfClose >= 0 && selfClose + 1 === gt) {
      out.push(xml.slice(start, gt + 1));
      continue;
    }
    const end = xml.indexOf(`</${name}>`, start);
    if (end < 0) break;
    out.push(xml.slice(start, end + name.length + 3));
    open.lastIndex = end;
  }
  return out;
}

const unescapeXml = (s: string) =>
  s.replace(
    /&(lt|gt|amp|apos|quot);/g,
    (_, e: string) => ({ lt: "<", gt: ">", amp: "&", apos: "'", quot: '"' })[e]!,
  );

/** virXMLNodeToString of an element libvirt formatted: what libxml2's node dump writes for it. */
export function nodeDump(text: string): string {
  return text.replace(/(<[^>]*>)|([^<]+)/g, (_m, tag: string | undefined, txt: string | undefined) => {
    if (tag !== undefined) {
      return tag.replace(/(\s[\w:.-]+)='([^']*)'/g, (_a, k: string, v: string) => {
        const raw = unescapeXml(v);
        return `${k}="${raw.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")}"`;
      });
    }
    return txt!.replace(/&apos;/g, "'").replace(/&quot;/g, '"');
  });
}
