// @vitest-environment node
/**
 * The server validates every record with `@tldraw/tlschema`; the app writes them with the
 * copy that `tldraw` brings. Two versions would disagree on what a valid record is (a new
 * shape prop, a new migration), and the server would revert good edits. One version, then.
 */
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { describe, expect, test } from 'vitest'

const fromRoot = createRequire(path.resolve(import.meta.dirname, '../../package.json'))

function versionOf(require: NodeJS.Require, pkg: string): { version: string; dir: string } {
  // The package's main entry, then up to its own package.json (its exports may not list it).
  let dir = path.dirname(require.resolve(pkg))
  while (
    !fs.existsSync(path.join(dir, 'package.json')) ||
    JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== pkg
  ) {
    const up = path.dirname(dir)
    if (up === dir) throw new Error(`no package.json for ${pkg}`)
    dir = up
  }
  return { version: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version as string, dir }
}

describe('@tldraw/tlschema', () => {
  test("the server's @tldraw/tlschema is the very version tldraw uses", () => {
    const ours = versionOf(fromRoot, '@tldraw/tlschema')
    const tldraw = versionOf(fromRoot, 'tldraw')
    // tldraw reaches tlschema through @tldraw/editor; resolve it from there, as the bundler does.
    const editor = versionOf(createRequire(path.join(tldraw.dir, 'package.json')), '@tldraw/editor')
    const theirs = versionOf(createRequire(path.join(editor.dir, 'package.json')), '@tldraw/tlschema')
    expect(theirs.version).toBe(ours.version)
    expect(editor.version).toBe(tldraw.version)
    expect(ours.version).toBe(tldraw.version)
  })

  test('package.json pins tldraw, @tldraw/assets and @tldraw/tlschema to one exact version', () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as {
      dependencies: Record<string, string>
    }
    const pins = ['tldraw', '@tldraw/assets', '@tldraw/tlschema'].map((name) => pkg.dependencies[name])
    expect(pins[0]).toMatch(/^\d+\.\d+\.\d+$/)
    expect(new Set(pins)).toEqual(new Set([pins[0]]))
  })
})
