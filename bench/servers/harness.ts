/**
 * The part every server-under-test child shares: tell the parent our port, answer its
 * questions about our CPU and memory. (Fork IPC, so stdout stays the server's own.)
 */
import { answer } from '../child'

export interface ServerStats {
  /** process.cpuUsage() since start, microseconds. */
  cpuUs: number
  rss: number
  heapUsed: number
}

export function serve(port: number): void {
  answer({
    stats: (): ServerStats => {
      const cpu = process.cpuUsage()
      const mem = process.memoryUsage()
      return { cpuUs: cpu.user + cpu.system, rss: mem.rss, heapUsed: mem.heapUsed }
    },
    gc: async () => {
      // Started with --expose-gc: full collections before reading RSS make idle memory comparable.
      const gc = (globalThis as { gc?: () => void }).gc
      for (let i = 0; i < 3 && gc; i++) {
        gc()
        await new Promise((r) => setTimeout(r, 50))
      }
      return { collected: Boolean(gc) }
    },
  })
  process.send?.({ type: 'ready', port })
}
