import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { type BoardLock, BoardBusyError } from './Store'

interface Holder {
  pid: number
  host: string
  operation: string
  since: number
}

/**
 * Board operation locks of a SQLite store: one file per locked board in `dir` (named by a
 * hash of the room id, so a directory listing shows no board key), made with O_EXCL so
 * exactly one process gets it. A lock left behind by a process of this host that is gone
 * is taken over; one held by a live process refuses, naming the operation and its pid.
 *
 * @example
 * const locks = new FileLocks('/data/sketchroom.db-locks')
 * const lock = await locks.lock('abc', 'purge')   // or BoardBusyError
 * await lock.release()
 */
export class FileLocks {
  constructor(private readonly dir: string) {}

  async lock(roomId: string, operation: string): Promise<BoardLock> {
    fs.mkdirSync(this.dir, { recursive: true })
    const file = path.join(this.dir, `${createHash('sha256').update(roomId).digest('hex').slice(0, 32)}.lock`)
    const me: Holder = { pid: process.pid, host: os.hostname(), operation, since: Date.now() }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx' })
        let released = false
        return {
          async release() {
            if (released) return
            released = true
            fs.rmSync(file, { force: true })
          },
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      const holder = readHolder(file)
      if (holder && holder.host === me.host && !alive(holder.pid)) {
        // Its process died without releasing it.
        fs.rmSync(file, { force: true })
        continue
      }
      const what = holder
        ? `${holder.operation} (process ${holder.pid} on ${holder.host}, since ${new Date(holder.since).toISOString()})`
        : 'another operation'
      throw new BoardBusyError(`another operation on this board is running: ${what}; try again when it has finished`)
    }
    throw new BoardBusyError('another operation on this board is running; try again when it has finished')
  }
}

function readHolder(file: string): Holder | null {
  try {
    const value = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Holder>
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return null
    return { pid: value.pid, host: value.host, operation: String(value.operation ?? 'an operation'), since: Number(value.since ?? 0) }
  } catch {
    // Being written right now, or removed: somebody holds or held it.
    return null
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
