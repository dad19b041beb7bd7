/**
 * The layers of ARCHITECTURE.md, checked: every import of every source file (tests and
 * benches aside) goes only where its layer may go. A new file in a new folder fails here
 * until ARCHITECTURE.md and this table say where it belongs.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { ROOT } from './helpers'

/** Folder (or file) → the project folders and files its imports may reach. */
const LAYERS: Array<{ layer: string; may: string[]; io?: boolean }> = [
  // Isomorphic: runs in the browser and in Node.
  { layer: 'lib', may: ['lib'], io: false },
  { layer: 'server/protocol', may: ['lib', 'server/errors.ts', 'server/protocol'], io: false },
  { layer: 'server/board', may: ['lib', 'server/board'], io: false },
  {
    layer: 'server/room',
    may: ['lib', 'server/errors.ts', 'server/protocol', 'server/board', 'server/storage/Store.ts', 'server/room'],
    io: false,
  },
  { layer: 'server/storage', may: ['server/storage'] },
  { layer: 'server/bus', may: ['server/protocol', 'server/room', 'server/storage/Store.ts', 'server/bus'] },
  {
    layer: 'server/sync',
    may: ['lib', 'server/errors.ts', 'server/protocol', 'server/board', 'server/room', 'server/storage/Store.ts', 'server/sync'],
  },
  { layer: 'server/admin', may: ['lib', 'server/errors.ts', 'server/board', 'server/storage/Store.ts', 'server/admin'] },
  { layer: 'server/http', may: ['lib', 'server/errors.ts', 'server/board', 'server/sync', 'server/storage/Store.ts', 'server/http'] },
  // Wiring: the only files that may reach every layer.
  { layer: 'server/app.ts', may: ['lib', 'server'] },
  { layer: 'server/backends.ts', may: ['server'] },
  { layer: 'server/main.ts', may: ['server'] },
  { layer: 'server/config.ts', may: ['server/errors.ts', 'server/storage/schemaName.ts', 'server/room/retention.ts'] },
  { layer: 'server/errors.ts', may: ['lib'] },
  { layer: 'server/release.ts', may: [] },
  { layer: 'server/logging.ts', may: [], io: false },
  { layer: 'components', may: ['lib', 'components'] },
  { layer: 'app', may: ['lib', 'components', 'app'] },
  { layer: 'scripts', may: ['lib', 'server', 'scripts'] },
]

/** Node modules that mean I/O: not allowed in the pure layers. */
const IO_MODULES = /^(node:)?(fs|fs\/promises|net|http|https|child_process|worker_threads|dgram|tls)$/

function sources(dir: string): string[] {
  const out: string[] = []
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...sources(rel))
    else if (/\.(ts|tsx|mjs)$/.test(entry.name) && !/\.(test|contract|fixtures)\.tsx?$/.test(entry.name)) out.push(rel)
  }
  return out
}

function layerOf(file: string) {
  const matches = LAYERS.filter((l) => file === l.layer || file.startsWith(`${l.layer}/`))
  return matches.sort((a, b) => b.layer.length - a.layer.length)[0]
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8')
  const patterns = [
    /(?:^|\n)\s*(?:import|export)[^'";]*?from\s+['"]([^'"]+)['"]/g,
    /(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g,
    /import\(\s*['"]([^'"]+)['"]\s*\)/g,
  ]
  return patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((m) => m[1]!))
}

function resolveProjectImport(file: string, spec: string): string | null {
  let target: string
  if (spec.startsWith('@/')) target = spec.slice(2)
  else if (spec.startsWith('.')) target = path.normalize(path.join(path.dirname(file), spec))
  else return null
  for (const candidate of [target, `${target}.ts`, `${target}.tsx`, path.join(target, 'index.ts')]) {
    if (fs.existsSync(path.join(ROOT, candidate)) && fs.statSync(path.join(ROOT, candidate)).isFile()) return candidate
  }
  return target
}

const reaches = (target: string, allowed: string) => target === allowed || target.startsWith(`${allowed}/`)

describe('architecture', () => {
  const files = ['lib', 'server', 'components', 'app', 'scripts'].flatMap(sources)

  test('the check sees imports (a check that sees none passes everything)', () => {
    expect(importsOf('server/room/Room.ts')).toContain('./Outbox')
    expect(importsOf('components/board/Board.tsx')).toContain('tldraw/tldraw.css')
  })

  test('every source file belongs to a layer of ARCHITECTURE.md', () => {
    expect(files.filter((f) => !layerOf(f))).toEqual([])
  })

  test('imports go only where their layer may go, and the pure layers do no I/O', () => {
    const broken: string[] = []
    for (const file of files) {
      const layer = layerOf(file)
      if (!layer) continue
      for (const spec of importsOf(file)) {
        if (layer.io === false && IO_MODULES.test(spec)) broken.push(`${file} imports ${spec} (I/O in a pure layer)`)
        const target = resolveProjectImport(file, spec)
        if (target && !layer.may.some((allowed) => reaches(target, allowed))) broken.push(`${file} imports ${target}`)
      }
    }
    expect(broken).toEqual([])
  })
})
