/**
 * The part every server-under-test child shares: tell the parent our port, answer its
 * questions about our CPU and memory. (Fork IPC, so stdout stays the server's own.)
 */
import fs from 'node:fs'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { answer } from '../child'

export interface ServerStats {
  /** process.cpuUsage() since start, microseconds. */
  cpuUs: number
  /** The server's own clock, so CPU % is right even when an overloaded server answers late. */
  wallMs: number
  /** Event-loop delay since the previous stats request: a blocked loop is latency no CPU figure shows. */
  loopP99Ms: number
  loopMaxMs: number
  rss: number
  heapUsed: number
  /** Memory of ArrayBuffers and Buffers (outside the JS heap, inside RSS). */
  arrayBuffers: number
  /** V8's whole heap as reserved (young and old generations), of which heapUsed is live. */
  heapTotal: number
  /** RSS split as Linux counts it (/proc/self/status): private memory, and mapped files (e.g. SQLite's). */
  rssAnon: number
  rssFile: number
}

/** RssAnon and RssFile from /proc/self/status, in bytes (0 where there is no /proc). */
function rssParts(): { rssAnon: number; rssFile: number } {
  let status = ''
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8')
  } catch {
    return { rssAnon: 0, rssFile: 0 }
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
  return { rssAnon: kib('RssAnon'), rssFile: kib('RssFile') + kib('RssShmem') }
}

export function serve(port: number): void {
  const loop = monitorEventLoopDelay({ resolution: 5 })
  loop.enable()
  answer({
    stats: (): ServerStats => {
      const cpu = process.cpuUsage()
      const mem = process.memoryUsage()
      const stats = {
        cpuUs: cpu.user + cpu.system,
        wallMs: performance.now(),
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        arrayBuffers: mem.arrayBuffers,
        heapTotal: mem.heapTotal,
        ...rssParts(),
        loopP99Ms: loop.percentile(99) / 1e6,
        loopMaxMs: loop.max / 1e6,
      }
      loop.reset()
      return stats
    },
    gc: async () => {
      // Started with --expose-gc: full collections before reading RSS make idle memory
      // comparable. The memory-reducing kind: a regular one compacts into fresh pages and
      // (Node 22+) keeps the emptied ones, so RSS could grow by the collection itself.
      type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void
      const gc = (globalThis as { gc?: Gc }).gc
      for (let i = 0; i < 3 && gc; i++) {
        gc({ type: 'major', execution: 'sync', flavor: 'last-resort' })
        await new Promise((r) => setTimeout(r, 50))
      }
      return { collected: Boolean(gc) }
    },
  })
  process.send?.({ type: 'ready', port })
}
