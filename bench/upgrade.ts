/**
 * The README's upgrade procedure, rehearsed on this machine, with figures:
 *
 *   npx tsx bench/upgrade.ts [old ref] [new ref]      (default: main and HEAD)
 *
 * Two releases are checked out side by side (`git worktree add`, with a hard-linked copy of
 * this checkout's node_modules: Next.js will not build through a symlink that leaves the
 * project), as an operator keeps them: the old one is built and serves one DATA_DIR
 * while a stock y-websocket client draws and a poller asks for the page and /healthz every
 * 20 ms; the new one is built meanwhile; then the old one gets SIGTERM and the new one
 * starts with `npm start -- --no-build` on the same DATA_DIR and port. It prints how long
 * each step took, whether anything failed while the new release was built, how long the
 * service was down, and checks that every edit the server had relayed before the switch is
 * still there afterwards. A timing, not a test: it prints figures and asserts only the
 * data.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

const ROOT = path.resolve(import.meta.dirname, '..')
const [oldRef = 'main', newRef = 'HEAD'] = process.argv.slice(2)
// Hard links need one file system: the temp dir, if it is this checkout's (it is here), else a folder in it.
const base = fs.statSync(os.tmpdir()).dev === fs.statSync(ROOT).dev ? os.tmpdir() : path.join(ROOT, 'node_modules', '.cache')
const work = fs.mkdtempSync(path.join(base, 'sketchroom-upgrade-'))
const dataDir = path.join(work, 'data')
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

function checkout(name: string, ref: string): string {
  const dir = path.join(work, name)
  execFileSync('git', ['worktree', 'add', '--detach', dir, ref], { cwd: ROOT, stdio: 'ignore' })
  execFileSync('cp', ['-al', path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules')])
  return dir
}

/** `npm run build` in a release, without blocking this process: the old release is being polled meanwhile. */
async function build(dir: string): Promise<number> {
  const started = Date.now()
  const child = spawn('npm', ['run', 'build'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`npm run build failed in ${dir} (exit ${code})`)
  return Date.now() - started
}

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

function start(dir: string, port: number, args: string[] = []): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--max-semi-space-size=64', 'scripts/start.mjs', ...args], {
    cwd: dir,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()))
  return { child, output: () => output }
}

/** Asks for the page and /healthz every 20 ms; remembers when answers failed. */
function poll(port: number) {
  const failures: number[] = []
  let lastOk = 0
  let stopped = false
  const loop = async (url: string) => {
    while (!stopped) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
        await res.arrayBuffer()
        if (res.status === 200) lastOk = Date.now()
        else failures.push(Date.now())
      } catch {
        failures.push(Date.now())
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  void loop(`http://127.0.0.1:${port}/healthz`)
  void loop(`http://127.0.0.1:${port}/`)
  return {
    failures,
    lastOk: () => lastOk,
    stop: () => (stopped = true),
    async firstOkAfter(t: number): Promise<number> {
      while (lastOk <= t) await new Promise((r) => setTimeout(r, 5))
      return lastOk
    },
  }
}

async function main(): Promise<void> {
  const port = await freePort()
  console.log(`upgrade rehearsal: ${oldRef} → ${newRef}, in ${work}, port ${port}`)
  const oldDir = checkout('old', oldRef)
  const newDir = checkout('new', newRef)
  const oldBuild = await build(oldDir)
  console.log(`old release built in ${seconds(oldBuild)}`)

  const old = start(oldDir, port)
  const polling = poll(port)
  await polling.firstOkAfter(0)

  const room = 'upgradeRehearsalRoom01'
  const wsUrl = `ws://127.0.0.1:${port}/sync`
  const options = { WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket, disableBc: true, maxBackoffTime: 100 }
  const writer = new WebsocketProvider(wsUrl, room, new Y.Doc(), options)
  const observer = new WebsocketProvider(wsUrl, room, new Y.Doc(), options)
  let drawn = 0
  const pen = setInterval(() => writer.doc.getArray('strokes').push([drawn++]), 50)

  const failuresBefore = polling.failures.length
  const newBuild = await build(newDir)
  const failuresDuringBuild = polling.failures.length - failuresBefore
  console.log(
    `new release built in ${seconds(newBuild)} while the old one served: ${failuresDuringBuild} failed requests, ` +
      `${drawn} strokes drawn, ${observer.doc.getArray('strokes').length} relayed so far`,
  )

  // What the server relayed is stored: it must all be there after the switch.
  const relayed = observer.doc.getArray('strokes').length
  const stopAt = Date.now()
  old.child.kill('SIGTERM')
  const oldExit = await new Promise<number | null>((resolve) => old.child.once('exit', (code) => resolve(code)))
  const stoppedAt = Date.now()
  const next = start(newDir, port, ['--no-build'])
  const upAt = await polling.firstOkAfter(stoppedAt)
  console.log(
    `switch: old stopped in ${seconds(stoppedAt - stopAt)} (exit ${oldExit}), new answered ${seconds(upAt - stoppedAt)} later: ` +
      `down for ${seconds(upAt - stopAt)}`,
  )
  await new Promise<void>((resolve) => {
    const check = () => (writer.wsconnected && observer.wsconnected ? resolve() : setTimeout(check, 10))
    check()
  })
  const reconnectedAt = Date.now()
  await new Promise((r) => setTimeout(r, 500))
  clearInterval(pen)
  await new Promise((r) => setTimeout(r, 300))
  const fresh = new WebsocketProvider(wsUrl, room, new Y.Doc(), options)
  await new Promise<void>((resolve) => fresh.once('sync', () => resolve()))
  const after = fresh.doc.getArray('strokes').toArray() as number[]
  const missing = Array.from({ length: relayed }, (_, i) => i).filter((i) => !after.includes(i))
  console.log(
    `clients back ${seconds(reconnectedAt - stopAt)} after the stop; ${relayed} strokes relayed before it, ${missing.length} missing after`,
  )
  console.log(
    `new release log: ${/building the app/.test(next.output()) ? 'REBUILT' : 'no build at start'}; ${/migrated/.test(next.output()) ? 'migrated the data format' : 'data format unchanged'}`,
  )

  for (const p of [writer, observer, fresh]) p.destroy()
  polling.stop()
  next.child.kill('SIGTERM')
  await new Promise((resolve) => next.child.once('exit', resolve))
  for (const dir of [oldDir, newDir]) execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT })
  fs.rmSync(work, { recursive: true, force: true })
  if (missing.length > 0) throw new Error(`strokes lost in the upgrade: ${missing.slice(0, 10).join(', ')}`)
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    for (const name of ['old', 'new']) {
      if (fs.existsSync(path.join(work, name))) execFileSync('git', ['worktree', 'remove', '--force', path.join(work, name)], { cwd: ROOT })
    }
    fs.rmSync(work, { recursive: true, force: true })
    process.exit(1)
  },
)
