/**
 * The little XML the S3 protocol needs: answers are written with `xml()` (escaped text, elements
 * in the order S3 documents them); request bodies (CompleteMultipartUpload, Delete,
 * VersioningConfiguration, LifecycleConfiguration) are small, fixed-shape documents read with
 * `elements()`/`text()`, which accept namespaces and whitespace and reject DOCTYPEs/entities.
 */
export function xmlEscape(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export type XmlNode =
  string | number | boolean | null | undefined | XmlNode[] | { [k: string]: XmlNode };

/** `{Name: value}` objects become elements; arrays repeat the element; null/undefined are left out. */
export function xml(root: string, body: { [k: string]: XmlNode }): string {
  const render = (name: string, value: XmlNode): string => {
    if (value === null || value === undefined) return '';
    if (Array.isArray(value)) return value.map((v) => render(name, v)).join('');
    if (typeof value === 'object') {
      const inner = Object.entries(value)
        .map(([k, v]) => render(k, v))
        .join('');
      return `<${name}>${inner}</${name}>`;
    }
    return `<${name}>${xmlEscape(String(value))}</${name}>`;
  };
  const inner = Object.entries(body)
    .map(([k, v]) => render(k, v))
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</${root}>`;
}

function unescape(value: string): string {
  return value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');
}

/** A request document may not declare a DOCTYPE (no entity tricks). */
export function hasDoctype(text: string): boolean {
  return /<!DOCTYPE|<!ENTITY/i.test(text);
}

/** The inner XML of every `<name>` element (any namespace prefix), in order. */
export function elements(doc: string, name: string): string[] {
  const re = new RegExp(
    `<(?:[A-Za-z0-9_-]+:)?${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</(?:[A-Za-z0-9_-]+:)?${name}>)`,
    'g',
  );
  const out: string[] = [];
  for (const m of doc.matchAll(re)) out.push(m[1] ?? '');
  return out;
}

/** The text of the first `<name>` element, unescaped and trimmed; undefined when absent. */
export function text(doc: string, name: string): string | undefined {
  const first = elements(doc, name)[0];
  return first === undefined
    ? undefined
    : unescape(first.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')).trim();
}
