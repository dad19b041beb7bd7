import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { tempDir } from '../test/helpers'
import { buildState } from './buildState.mjs'

function tree(files: Record<string, number>): string {
  const root = tempDir()
  for (const [name, mtimeSeconds] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true })
    fs.writeFileSync(path.join(root, name), '')
    fs.utimesSync(path.join(root, name), mtimeSeconds, mtimeSeconds)
  }
  return root
}

describe('buildState (when npm start builds, and why)', () => {
  test('no build: says so', () => {
    expect(buildState(tree({ 'app/page.tsx': 1000 }))).toEqual({
      current: false,
      reason: 'there is no build yet (.next/BUILD_ID is missing)',
    })
  })

  test('a source newer than the build is named, with both times', () => {
    const state = buildState(tree({ '.next/BUILD_ID': 2000, 'app/page.tsx': 1000, 'lib/board.ts': 3000 }))
    expect(state).toEqual({ current: false, reason: 'lib/board.ts (1970-01-01T00:50:00Z) is newer than the build (1970-01-01T00:33:20Z)' })
  })

  test('a build newer than every source is current; files copied into public/tldraw-assets by the build do not count', () => {
    expect(buildState(tree({ '.next/BUILD_ID': 2000, 'app/page.tsx': 1000, 'public/tldraw-assets/VERSION': 3000 }))).toEqual({
      current: true,
    })
  })
})
