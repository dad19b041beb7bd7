// Whether the Next.js build in .next/ is current: there is one, and no input of it is
// newer. `npm start` (scripts/start.mjs) builds when it is not, and says why.
import fs from 'node:fs'
import path from 'node:path'

/** What `next build` reads: a change to any of these needs a new build. */
export const BUILD_INPUTS = [
  'app',
  'components',
  'lib',
  'public',
  'next.config.js',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.next.json',
]

/** Copied into public/ by next.config.js whenever the installed tldraw changes: an output, not an input. */
const GENERATED = new Set([path.join('public', 'tldraw-assets')])

/** The newest file (and its time) under `rel`, skipping generated folders. */
function newest(root, rel) {
  const abs = path.join(root, rel)
  if (!fs.existsSync(abs) || GENERATED.has(rel)) return { file: null, mtimeMs: 0 }
  const stat = fs.statSync(abs)
  if (!stat.isDirectory()) return { file: rel, mtimeMs: stat.mtimeMs }
  let best = { file: null, mtimeMs: 0 }
  for (const entry of fs.readdirSync(abs)) {
    const found = newest(root, path.join(rel, entry))
    if (found.mtimeMs > best.mtimeMs) best = found
  }
  return best
}

/**
 * `{ current: true }`, or `{ current: false, reason }` with a sentence for the log: no
 * build yet, or which input is newer than the build.
 *
 * @example
 * const state = buildState(process.cwd())
 * if (!state.current) console.log(`building: ${state.reason}`)
 */
export function buildState(root) {
  const buildId = path.join(root, '.next', 'BUILD_ID')
  if (!fs.existsSync(buildId)) return { current: false, reason: 'there is no build yet (.next/BUILD_ID is missing)' }
  const built = fs.statSync(buildId).mtimeMs
  let changed = { file: null, mtimeMs: 0 }
  for (const input of BUILD_INPUTS) {
    const found = newest(root, input)
    if (found.mtimeMs > changed.mtimeMs) changed = found
  }
  if (changed.mtimeMs <= built) return { current: true }
  const age = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
  return { current: false, reason: `${changed.file} (${age(changed.mtimeMs)}) is newer than the build (${age(built)})` }
}
