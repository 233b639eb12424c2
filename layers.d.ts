// Types of layers.js, which eslint.config.js imports as plain JavaScript.

/** One layer of src/: the top-level folders or root files it holds. */
export interface Layer {
  readonly name: string;
  readonly paths: readonly string[];
  readonly holds: string;
}

/** The layers of src/, lowest first. */
export declare const layers: readonly Layer[];

/** import-x/no-restricted-paths zones built from `layers`. */
export declare function layerZones(): { target: string[]; from: string[]; message: string }[];
