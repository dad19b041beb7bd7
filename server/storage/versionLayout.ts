/**
 * How versions are laid out in a store: most as a diff against a keyframe, some as the
 * whole document. A version of a 5,000-shape board where one shape moved is then about
 * that shape, not the whole board again; any version is one keyframe plus one diff away,
 * so deleting old versions never breaks a chain.
 */
import { createHash, randomBytes } from 'node:crypto'
import * as Y from 'yjs'
import type { NewVersion, VersionInfo } from './Store'

/** A diff at least this fraction of the whole document makes the version a keyframe instead. */
const KEYFRAME_WHEN_DIFF_OVER = 0.25

export interface Keyframe {
  id: string
  state: Uint8Array
}

/** What to store for `state`: a diff against `keyframe` (`base`), or the state itself. */
export function layoutVersion(state: Uint8Array, keyframe: Keyframe | null): { data: Uint8Array; base: string | null } {
  if (!keyframe) return { data: state, base: null }
  const diff = Y.diffUpdate(state, Y.encodeStateVectorFromUpdate(keyframe.state))
  if (diff.length > state.length * KEYFRAME_WHEN_DIFF_OVER) return { data: state, base: null }
  return { data: diff, base: keyframe.id }
}

/** The whole document of a version from what was stored. */
export function assembleVersion(data: Uint8Array, base: Uint8Array | null): Uint8Array {
  return base ? Y.mergeUpdates([base, data]) : data
}

/** Equal documents give equal hashes (Yjs encodes a state the same way every time). */
export function contentHash(state: Uint8Array): string {
  return createHash('sha256').update(state).digest('base64url')
}

/** Sortable by time (and unguessable enough to name nothing but this version). */
export function newVersionId(at: number, newestId?: string): string {
  const id = `${Math.floor(at).toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`
  // Ids sort by time; one taken in the same millisecond as the newest still sorts after it.
  if (newestId === undefined || id > newestId) return id
  return newVersionId(Number.parseInt(newestId.split('-')[0]!, 36) + 1)
}

/** What a catalog answers for a version it just stored as `storedBytes`. */
export function storedVersionInfo(id: string, version: NewVersion, storedBytes: number): VersionInfo {
  const { createdAt, reason, name, shapes, editors, state } = version
  return { id, createdAt, reason, name, shapes, bytes: state.length, storedBytes, editors }
}
