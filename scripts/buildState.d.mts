/** Types of buildState.mjs (plain JavaScript, so `npm start` runs before any TypeScript loader). */
export declare const BUILD_INPUTS: string[]
export declare function buildState(root: string): { current: true } | { current: false; reason: string }
