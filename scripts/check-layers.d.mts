export const DEFAULT_ROOTS: string[];

/** The violations of the project's layer rules (.dependency-cruiser.cjs), one line each. */
export function checkLayers(options?: {
  baseDir?: string;
  roots?: string[];
  /** A tsconfig file, or false to resolve without one. Defaults to the project's. */
  tsConfig?: string | false;
}): Promise<string[]>;
