// `npm start`: builds the Next.js app if there is no build or it is older than the
// sources, then runs the server (app + sync endpoint) in this one process.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const buildId = path.join(root, '.next', 'BUILD_ID')
const sources = ['app', 'components', 'lib', 'public', 'next.config.js', 'package-lock.json', 'tsconfig.json']

function newestMtime(p) {
  if (!fs.existsSync(p)) return 0
  const stat = fs.statSync(p)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = stat.mtimeMs
  for (const entry of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, entry)))
  return newest
}

const built = fs.existsSync(buildId) ? fs.statSync(buildId).mtimeMs : 0
const changed = Math.max(...sources.map((s) => newestMtime(path.join(root, s))))
if (built === 0 || changed > built) {
  console.log(built === 0 ? 'sketchroom: no build yet; building the app (once)…' : 'sketchroom: sources changed; rebuilding the app…')
  const nextBin = path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next')
  const result = spawnSync(process.execPath, [nextBin, 'build'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  })
  if (result.status !== 0) {
    console.error('sketchroom: the build failed; see the output above')
    process.exit(result.status ?? 1)
  }
}

process.env.NODE_ENV = 'production'
// Register tsx in this process, so `npm start` is one Node process serving app and sync.
const { register } = await import('tsx/esm/api')
register()
await import(pathToFileURL(path.join(root, 'server', 'main.ts')).href).then((m) => m.cli(process.argv.slice(2)))
