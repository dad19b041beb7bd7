/**
 * Marks for bench/client.ts: when a page defines `window.__sketchroomMarks` (the bench
 * does, before any script of the app runs), the binding notes when each step of opening
 * a board or applying a change ended. Otherwise a mark costs one property read.
 */
declare global {
  var __sketchroomMarks: Array<[name: string, ms: number]> | undefined
}

/** Notes that step `name` ended now (ms since the epoch, with fractions). */
export function mark(name: string): void {
  const marks = globalThis.__sketchroomMarks
  if (marks) marks.push([name, performance.timeOrigin + performance.now()])
}
