import { fhirLimits } from './limits.js';

/**
 * FHIR R4 Narrative.div checks (narrative.html, txt-1 and txt-2): well-formed
 * XHTML in one `<div xmlns="http://www.w3.org/1999/xhtml">`, only the basic
 * HTML 4.0 formatting elements and attributes, no active content.
 *
 * Written by hand on purpose: sanitizers (sanitize-html, DOMPurify) rewrite
 * markup instead of refusing it and bring an HTML parser or a browser DOM,
 * and XML parsers still need this allowlist walk on top while accepting DTDs
 * and entity declarations we must refuse. An allowlist over a deliberately
 * small grammar (elements, attributes, text, XML entities; no comments,
 * CDATA, processing instructions or DOCTYPE) is simpler to review than either.
 */

const xhtmlNamespace = 'http://www.w3.org/1999/xhtml';

// txt-1 allowlist, as enforced by the HL7 reference validator.
const allowedElements: ReadonlySet<string> = new Set([
  'p',
  'br',
  'div',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'a',
  'span',
  'b',
  'em',
  'i',
  'strong',
  'small',
  'big',
  'tt',
  'dfn',
  'q',
  'var',
  'abbr',
  'acronym',
  'cite',
  'blockquote',
  'hr',
  'address',
  'bdo',
  'kbd',
  'sub',
  'sup',
  'ul',
  'ol',
  'li',
  'dl',
  'dt',
  'dd',
  'pre',
  'table',
  'caption',
  'colgroup',
  'col',
  'thead',
  'tr',
  'tfoot',
  'tbody',
  'th',
  'td',
  'code',
  'samp',
  'img',
  'map',
  'area',
]);
const globalAttributes: ReadonlySet<string> = new Set([
  'title',
  'style',
  'class',
  'id',
  'lang',
  'xml:lang',
  'dir',
  'accesskey',
  'tabindex',
  'xmlns',
  'span',
  'width',
  'align',
  'valign',
  'char',
  'charoff',
  'abbr',
  'axis',
  'headers',
  'scope',
  'rowspan',
  'colspan',
]);
const elementAttributes: ReadonlySet<string> = new Set([
  'a.href',
  'a.name',
  'a.charset',
  'a.type',
  'a.hreflang',
  'a.rel',
  'a.rev',
  'a.shape',
  'a.coords',
  'img.src',
  'img.border',
  'img.alt',
  'img.longdesc',
  'img.height',
  'img.width',
  'img.usemap',
  'img.ismap',
  'blockquote.cite',
  'q.cite',
  'map.name',
  'area.shape',
  'area.coords',
  'area.href',
  'area.nohref',
  'area.alt',
  'table.summary',
  'table.width',
  'table.border',
  'table.frame',
  'table.rules',
  'table.cellspacing',
  'table.cellpadding',
  'pre.space',
]);
const urlAttributes: ReadonlySet<string> = new Set([
  'a.href',
  'area.href',
  'img.src',
  'img.longdesc',
  'blockquote.cite',
  'q.cite',
]);
// narrative.html: "SHALL NOT contain a head, a body, external stylesheet references, scripts, forms, base/link/xlink, frames, iframes and objects".
const activeElements: ReadonlySet<string> = new Set([
  'script',
  'style',
  'form',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'base',
  'link',
  'meta',
  'head',
  'body',
  'html',
  'input',
  'button',
  'textarea',
  'select',
  'svg',
  'math',
  'noscript',
  'template',
]);
const xmlEntities: ReadonlyMap<string, string> = new Map([
  ['lt', '<'],
  ['gt', '>'],
  ['amp', '&'],
  ['quot', '"'],
  ['apos', "'"],
]);

/** Safe reasons a narrative is refused; none quotes the narrative. */
export const narrativeProblems = Object.freeze({
  root: 'The narrative must be one <div> element in the XHTML namespace.',
  malformed: 'The narrative must be well-formed XHTML.',
  markup: 'The narrative must not contain comments, CDATA sections, processing instructions or a DOCTYPE.',
  entity: 'The narrative may only use the XML entities and numeric character references.',
  characters: 'The narrative must not contain control characters.',
  active: 'The narrative must not contain active content (script, style, form, iframe, object, embed and the like).',
  element: 'The narrative contains an element that FHIR narratives do not allow.',
  eventHandler: 'The narrative must not contain event handler attributes.',
  attribute: 'The narrative contains an attribute that FHIR narratives do not allow.',
  namespace: 'The narrative must use only the XHTML namespace.',
  url: 'The narrative must not contain script or other unsafe URLs.',
  style: 'The narrative style attributes must not contain expressions, URLs, imports or escapes.',
  depth: 'The narrative is nested too deeply.',
  empty: 'The narrative must have some non-whitespace content.',
});

interface Scan {
  readonly text: string;
  pos: number;
  hasContent: boolean;
}

function isNameChar(c: string): boolean {
  return /[A-Za-z0-9:_.-]/.test(c);
}

function readName(s: Scan): string {
  const start = s.pos;
  if (!/[A-Za-z_]/.test(s.text.charAt(s.pos))) return '';
  while (s.pos < s.text.length && isNameChar(s.text.charAt(s.pos))) s.pos += 1;
  return s.text.slice(start, s.pos);
}

function skipSpace(s: Scan): boolean {
  const start = s.pos;
  while (/[ \t\r\n]/.test(s.text.charAt(s.pos))) s.pos += 1;
  return s.pos > start;
}

function isXmlChar(code: number): boolean {
  return (
    code === 9 ||
    code === 10 ||
    code === 13 ||
    (code >= 32 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/** Decodes XML entities and character references; undefined when one is not allowed. */
function decodeEntities(raw: string): string | undefined {
  let out = '';
  for (let i = 0; i < raw.length;) {
    const amp = raw.indexOf('&', i);
    if (amp < 0) return out + raw.slice(i);
    const semi = raw.indexOf(';', amp);
    if (semi < 0 || semi - amp > 10) return undefined;
    out += raw.slice(i, amp);
    const name = raw.slice(amp + 1, semi);
    const numeric = /^#([0-9]{1,7}|x[0-9A-Fa-f]{1,6})$/.exec(name);
    if (numeric?.[1] !== undefined) {
      const code = numeric[1].startsWith('x') ? parseInt(numeric[1].slice(1), 16) : parseInt(numeric[1], 10);
      if (!isXmlChar(code)) return undefined;
      out += String.fromCodePoint(code);
    } else {
      const named = xmlEntities.get(name);
      if (named === undefined) return undefined;
      out += named;
    }
    i = semi + 1;
  }
  return out;
}

function isSafeUrl(value: string, image: boolean): boolean {
  // Browsers drop whitespace and control characters inside a scheme ("java\tscript:"), so we do too before reading it.
  const compact = Array.from(value)
    .filter((c) => c > ' ' && c !== '\u007f')
    .join('')
    .toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(compact);
  if (scheme === null) return true;
  if (scheme[1] === 'http' || scheme[1] === 'https') return true;
  if (!image) return scheme[1] === 'mailto' || scheme[1] === 'tel';
  return /^data:image\/(png|gif|jpeg);base64,/.test(compact);
}

function isSafeStyle(value: string): boolean {
  const lower = value.toLowerCase();
  return !['expression', 'url(', 'javascript', 'vbscript', '@import', 'behavior', 'binding', '\\', '/*', '<'].some(
    (bad) => lower.includes(bad),
  );
}

function checkAttribute(element: string, name: string, value: string): string | undefined {
  if (name.toLowerCase().startsWith('on')) return narrativeProblems.eventHandler;
  const key = `${element}.${name}`;
  if (!globalAttributes.has(name) && !elementAttributes.has(key)) {
    return name.startsWith('xmlns:') || name.startsWith('xlink:')
      ? narrativeProblems.namespace
      : narrativeProblems.attribute;
  }
  if (name === 'xmlns' && value !== xhtmlNamespace) return narrativeProblems.namespace;
  if (urlAttributes.has(key) && !isSafeUrl(value, element === 'img')) return narrativeProblems.url;
  if (name === 'style' && !isSafeStyle(value)) return narrativeProblems.style;
  return undefined;
}

/** Reads the attributes of a start tag up to `>` or `/>`; returns a problem, or the closing form. */
function readAttributes(s: Scan, element: string, attributes: Map<string, string>): string | { selfClosing: boolean } {
  for (;;) {
    const spaced = skipSpace(s);
    if (s.text.startsWith('/>', s.pos)) {
      s.pos += 2;
      return { selfClosing: true };
    }
    if (s.text.charAt(s.pos) === '>') {
      s.pos += 1;
      return { selfClosing: false };
    }
    const name = readName(s);
    if (!spaced || name === '' || attributes.has(name)) return narrativeProblems.malformed;
    skipSpace(s);
    if (s.text.charAt(s.pos) !== '=') return narrativeProblems.malformed;
    s.pos += 1;
    skipSpace(s);
    const quote = s.text.charAt(s.pos);
    const end = quote === '"' || quote === "'" ? s.text.indexOf(quote, s.pos + 1) : -1;
    if (end < 0) return narrativeProblems.malformed;
    const raw = s.text.slice(s.pos + 1, end);
    s.pos = end + 1;
    if (raw.includes('<')) return narrativeProblems.malformed;
    const value = decodeEntities(raw);
    if (value === undefined) return narrativeProblems.entity;
    const problem = checkAttribute(element, name, value);
    if (problem !== undefined) return problem;
    attributes.set(name, value);
  }
}

/** Reads `<name attrs>` at s.pos; pushes it on the stack unless self-closing. */
function readStartTag(s: Scan, stack: string[]): string | undefined {
  s.pos += 1;
  const name = readName(s);
  if (name === '') return narrativeProblems.malformed;
  if (activeElements.has(name.toLowerCase())) return narrativeProblems.active;
  if (!allowedElements.has(name)) return narrativeProblems.element;
  const attributes = new Map<string, string>();
  const closing = readAttributes(s, name, attributes);
  if (typeof closing === 'string') return closing;
  if (stack.length === 0 && (name !== 'div' || attributes.get('xmlns') !== xhtmlNamespace))
    return narrativeProblems.root;
  if (name === 'img') s.hasContent = true;
  if (!closing.selfClosing) stack.push(name);
  return stack.length > fhirLimits.xhtmlDepth ? narrativeProblems.depth : undefined;
}

function readEndTag(s: Scan, stack: string[]): string | undefined {
  s.pos += 2;
  const name = readName(s);
  skipSpace(s);
  if (s.text.charAt(s.pos) !== '>' || stack.pop() !== name) return narrativeProblems.malformed;
  s.pos += 1;
  return undefined;
}

function readText(s: Scan): string | undefined {
  let end = s.text.indexOf('<', s.pos);
  if (end < 0) end = s.text.length;
  const decoded = decodeEntities(s.text.slice(s.pos, end));
  if (decoded === undefined) return narrativeProblems.entity;
  for (const ch of decoded) {
    if (!isXmlChar(ch.codePointAt(0) ?? 0)) return narrativeProblems.characters;
  }
  if (/\S/.test(decoded)) s.hasContent = true;
  s.pos = end;
  return undefined;
}

/** Checks a Narrative.div value; returns a safe reason when it is refused. */
export function checkNarrativeXhtml(div: string): string | undefined {
  if (!div.startsWith('<div')) return narrativeProblems.root;
  const s: Scan = { text: div, pos: 0, hasContent: false };
  const stack: string[] = [];
  let started = false;
  while (s.pos < div.length) {
    // Nothing may follow the root element (a second root, trailing text).
    if (started && stack.length === 0) return narrativeProblems.root;
    let problem: string | undefined;
    if (div.startsWith('<!', s.pos) || div.startsWith('<?', s.pos)) problem = narrativeProblems.markup;
    else if (div.startsWith('</', s.pos)) problem = readEndTag(s, stack);
    else if (div.charAt(s.pos) === '<') problem = readStartTag(s, stack);
    else problem = readText(s);
    if (problem !== undefined) return problem;
    started = true;
  }
  if (stack.length > 0) return narrativeProblems.malformed;
  return s.hasContent ? undefined : narrativeProblems.empty;
}
