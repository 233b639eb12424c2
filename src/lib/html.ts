/**
 * HTML escaping in one place (STYLE.md #10). Every server-rendered page is
 * built with the `html` tag, which escapes each interpolated value unless it
 * is already SafeHtml (another `html` fragment), so a value can only reach a
 * page escaped (OWASP XSS Prevention Cheat Sheet, rule #1 and #2: the same
 * escaping is safe in element content and in quoted attribute values).
 */

const replacements: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
  '=': '&#61;',
};

/** Escapes the characters that can end an element or a quoted attribute. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`=]/g, (char) => replacements[char] ?? char);
}

/** Markup that is safe to emit as is: built only by {@link html} (or {@link trustedSvg}). */
export class SafeHtml {
  readonly #markup: string;

  /** Use {@link html}; the constructor is not for callers. */
  constructor(markup: string, token: typeof construct) {
    if (token !== construct) throw new TypeError('SafeHtml is built with the html tag');
    this.#markup = markup;
  }

  toString(): string {
    return this.#markup;
  }
}

const construct = Symbol('SafeHtml');

/** A value an `html` template may interpolate: text (escaped), numbers, fragments, lists of them, or nothing. */
export type HtmlValue = string | number | SafeHtml | null | undefined | false | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(value));
}

/** Tagged template: the literal parts are markup, every interpolation is escaped. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out, construct);
}

/**
 * SVG produced by a trusted generator (the `qrcode` package's QR code, which
 * draws paths from the encoded bits and never copies its input into the markup).
 */
export function trustedSvg(svg: string): SafeHtml {
  if (!svg.startsWith('<svg') || /<script|on\w+=|href/i.test(svg)) throw new TypeError('not a plain SVG drawing');
  return new SafeHtml(svg, construct);
}
