/** Decoding stops after this many layers: enough for double and triple encoding. */
const maxDecodes = 3;

/** decodeURIComponent, or null for malformed percent-encoding or invalid UTF-8. */
export function tryDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/**
 * `text` and each successive percent-decoding of it (`%252e` → `%2e` → `.`),
 * so that double-encoded traversal or control bytes are seen. A layer that
 * does not decode ends the list: the first layer's validity is its own check.
 */
function decodedLayers(text: string): readonly string[] {
  const layers = [text];
  let current = text;
  for (let i = 0; i < maxDecodes && current.includes('%'); i += 1) {
    const next = tryDecode(current);
    if (next === null || next === current) break;
    layers.push(next);
    current = next;
  }
  return layers;
}

/**
 * What the edge checks read of one request: the client address after proxy
 * resolution, the raw request target split once, and its decoded layers,
 * computed only when a check asks.
 */
export class EdgeInput {
  /** The raw path, before `?`. */
  readonly path: string;
  /** The raw query string after `?`; empty when there is none. */
  readonly query: string;
  #pathLayers: readonly string[] | undefined;
  #queryLayers: readonly string[] | undefined;

  constructor(
    /** `request.ip`: the client after trusted proxies. */
    readonly ip: string,
    /** The socket peer (a trusted proxy, or the client itself). */
    readonly peer: string,
    /** The request target exactly as received. */
    readonly url: string,
    readonly headerCount: number,
  ) {
    const mark = url.indexOf('?');
    this.path = mark < 0 ? url : url.slice(0, mark);
    this.query = mark < 0 ? '' : url.slice(mark + 1);
  }

  /** The raw path, then each percent-decoding of it. */
  get pathLayers(): readonly string[] {
    this.#pathLayers ??= decodedLayers(this.path);
    return this.#pathLayers;
  }

  /** The raw query string, then each percent-decoding of it. */
  get queryLayers(): readonly string[] {
    this.#queryLayers ??= decodedLayers(this.query);
    return this.#queryLayers;
  }
}
