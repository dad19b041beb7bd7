// `npm start`: runs the server (app + sync endpoint) in this one process, after building
// the Next.js app if there is no build or a source is newer than it.
//
// A build takes about a minute, during which nothing is served, so it is said loudly, with
// the reason. Upgrades should not pay it: build the new release first (`npm run build`,
// README "Upgrading"), then restart. `npm start -- --no-build` refuses to start without a
// current build instead of building, for process managers.
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildState } from './buildState.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)

// better-sqlite3 13, the SQLite driver, crashes on Node 20 (a segfault, not an error).
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  console.error(`sketchroom: Node.js 22 or 24 is needed; this is ${process.version}. See README "Quick start".`)
  process.exit(1)
}

const state = buildState(root)
if (!state.current) {
  if (args.includes('--no-build')) {
    console.error(`sketchroom: not starting: the app needs a build, because ${state.reason}. Run \`npm run build\` first.`)
    process.exit(1)
  }
  console.log(`sketchroom: building the app before serving it (nothing is served meanwhile; 20-60 s on 2 cores), because ${state.reason}`)
  console.log('sketchroom: to upgrade without this wait, run `npm run build` before restarting (README "Upgrading")')
  const started = Date.now()
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
  console.log(`sketchroom: built in ${Math.round((Date.now() - started) / 1000)} s; starting`)
}

process.env.NODE_ENV = 'production'
// Register tsx in this process, so `npm start` is one Node process serving app and sync.
const { register } = await import('tsx/esm/api')
register()
await import(pathToFileURL(path.join(root, 'server', 'main.ts')).href).then((m) => m.cli(args))
