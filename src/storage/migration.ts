/** One schema migration; arrays of these ship in the build (no SQL files to copy). */
export interface Migration {
  /** 1, 2, 3, … applied in ascending order, each at most once. */
  readonly version: number;
  readonly name: string;
  /** One or more statements, applied in one transaction. */
  readonly sql: string;
}
