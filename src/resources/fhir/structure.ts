import { fhirLimits } from './limits.js';

/**
 * A pre-pass over a body before schema validation: caps nesting depth and
 * extension-in-extension depth. It walks with an explicit stack, so a hostile
 * body nested thousands of levels deep is refused here instead of exhausting
 * the call stack of the recursive schema validator.
 */

/** Where the structure limit was exceeded, as a JSON pointer, and why. */
export interface StructureProblem {
  readonly pointer: string;
  readonly reason: string;
}

interface Node {
  readonly value: unknown;
  readonly parent: Node | undefined;
  readonly key: string;
  readonly depth: number;
  readonly extensionDepth: number;
}

function pointerOf(node: Node): string {
  const keys: string[] = [];
  let n = node;
  while (n.parent !== undefined) {
    keys.push(n.key.replaceAll('~', '~0').replaceAll('/', '~1'));
    n = n.parent;
  }
  return keys.length === 0 ? '' : `/${keys.reverse().join('/')}`;
}

function childrenOf(node: Node): Node[] {
  const { value } = node;
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i): [string, unknown] => [String(i), v])
    : Object.entries(value as Record<string, unknown>);
  const children: Node[] = [];
  for (const [key, child] of entries) {
    if (child === null || typeof child !== 'object') continue;
    const nested = Array.isArray(child) && (key === 'extension' || key === 'modifierExtension');
    children.push({
      value: child,
      parent: node,
      key,
      depth: node.depth + 1,
      extensionDepth: node.extensionDepth + (nested ? 1 : 0),
    });
  }
  return children;
}

/** Returns the first place where the body nests deeper than fhirLimits allow, if any. */
export function checkStructure(body: object): StructureProblem | undefined {
  const pending: Node[] = [{ value: body, parent: undefined, key: '', depth: 1, extensionDepth: 0 }];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (node.depth > fhirLimits.jsonDepth) {
      return { pointer: pointerOf(node), reason: 'Is nested too deeply.' };
    }
    if (node.extensionDepth > fhirLimits.extensionDepth) {
      return {
        pointer: pointerOf(node),
        reason: `Extensions may nest at most ${fhirLimits.extensionDepth} levels deep.`,
      };
    }
    for (const child of childrenOf(node)) pending.push(child);
  }
  return undefined;
}
