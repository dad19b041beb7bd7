/**
 * Child processes for the bench: servers under test and load generators, each a
 * `node --import tsx` fork talking to the parent by request/reply over the IPC channel.
 * Children exit when the channel closes, so a killed bench leaves nothing behind.
 */
import { type ChildProcess, fork } from 'node:child_process'

interface Envelope {
  id: number
  type: string
  [key: string]: unknown
}

const live = new Set<ChildProcess>()

export interface Child {
  readonly pid: number
  /** Sends a request and resolves with the child's reply (rejects on timeout or exit). */
  request<T = Record<string, unknown>>(type: string, body?: Record<string, unknown>, timeoutMs?: number): Promise<T>
  /** Resolves with the first unsolicited message of this type (e.g. 'ready'). */
  once<T = Record<string, unknown>>(type: string, timeoutMs?: number): Promise<T>
  kill(): Promise<void>
}

export function spawnChild(script: string, options: { execArgv?: string[]; env?: Record<string, string | undefined> } = {}): Child {
  const proc = fork(script, [], {
    execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  live.add(proc)
  let nextId = 1
  const pending = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>()
  const waiting = new Map<string, (v: never) => void>()
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(proc)
      for (const p of pending.values()) p.reject(new Error(`${script} exited (${code ?? signal}) before replying`))
      pending.clear()
      resolve()
    })
  })
  // A send racing the child's exit raises ERR_IPC_CHANNEL_CLOSED here; the exit handler rejects the waiters.
  proc.on('error', () => {})
  proc.on('message', (msg: Envelope) => {
    const p = msg.id ? pending.get(msg.id) : undefined
    if (p) {
      pending.delete(msg.id)
      p.resolve(msg as never)
      return
    }
    const w = waiting.get(msg.type)
    if (w) {
      waiting.delete(msg.type)
      w(msg as never)
    }
  })
  const withTimeout = <T>(promise: Promise<T>, ms: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script}: no ${what} within ${ms} ms`)), ms)
      promise.then(
        (v) => (clearTimeout(timer), resolve(v)),
        (e: unknown) => (clearTimeout(timer), reject(e)),
      )
    })
  return {
    pid: proc.pid ?? -1,
    request(type, body = {}, timeoutMs = 60_000) {
      const id = nextId++
      if (!proc.connected) return Promise.reject(new Error(`${script} is not running`))
      const reply = new Promise<never>((resolve, reject) => pending.set(id, { resolve, reject }))
      proc.send({ ...body, id, type }, (err) => {
        if (err) pending.get(id)?.reject(err)
      })
      return withTimeout(reply, timeoutMs, `reply to ${type}`)
    },
    once(type, timeoutMs = 30_000) {
      return withTimeout(new Promise<never>((resolve) => waiting.set(type, resolve)), timeoutMs, type)
    },
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Kills every child still running (on Ctrl-C, or after a failure). */
export function killAllChildren(): void {
  for (const proc of live) proc.kill('SIGKILL')
}

/** Child side: answer the parent's requests with these handlers; exit when it goes away. */
export function answer(handlers: Record<string, (msg: Envelope) => unknown>): void {
  process.on('message', (msg: Envelope) => {
    const handler = handlers[msg.type]
    if (!handler) return
    Promise.resolve(handler(msg)).then(
      (result) => process.send?.({ ...(result as object), id: msg.id, type: `${msg.type}:reply` }),
      (err: unknown) => process.send?.({ id: msg.id, type: `${msg.type}:reply`, error: err instanceof Error ? err.message : String(err) }),
    )
  })
  process.on('disconnect', () => process.exit(0))
  // SIGTERM from the parent: leave now (the parent does not wait for a graceful close).
  process.on('SIGTERM', () => process.exit(0))
}

/** Runs a bench entry point; Ctrl-C, exit or failure takes every child down with it. */
export function runBenchMain(main: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      killAllChildren()
      process.exit(130)
    })
  }
  process.on('exit', killAllChildren)
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err)
      killAllChildren()
      process.exit(1)
    },
  )
}
