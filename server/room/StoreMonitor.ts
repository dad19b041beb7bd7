/**
 * Whether the store is keeping up, across every room of this process: what `/healthz`
 * says and what `/metrics` counts. Reasons name the error code, never a path or a key.
 *
 * @example
 * monitor.appendFailed(room.tag, err) // a room pauses saving
 * monitor.problem                     // 'the store cannot save changes (SQLITE_FULL: database or disk is full)'
 * monitor.appendRecovered(room.tag)
 */
export class StoreMonitor {
  appendErrors = 0
  compactErrors = 0
  /** Rooms whose appends fail right now, by tag, with why. */
  private readonly failing = new Map<string, string>()

  appendFailed(roomTag: string, err: unknown): void {
    this.appendErrors++
    this.failing.set(roomTag, describeStoreError(err))
  }

  appendRecovered(roomTag: string): void {
    this.failing.delete(roomTag)
  }

  compactFailed(): void {
    this.compactErrors++
  }

  /** Rooms that cannot save right now. */
  get failingRooms(): number {
    return this.failing.size
  }

  /** Why saving fails, for `/healthz`; null while it works. */
  get problem(): string | null {
    const first = this.failing.values().next()
    if (first.done) return null
    const rooms = this.failing.size
    return `the store cannot save changes (${first.value}); ${rooms} board${rooms === 1 ? '' : 's'} waiting to save`
  }
}

/**
 * What went wrong, fit for a health response and a close reason: the error's code, and
 * SQLite's own message (which never holds a path). Node's file errors name their path,
 * and PostgreSQL's may quote a key: those give their code only.
 */
export function describeStoreError(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null
  const code = typeof e?.code === 'string' ? e.code : null
  if (e?.name === 'SqliteError' && typeof e.message === 'string') return code ? `${code}: ${e.message}` : e.message
  return code ?? 'unknown error'
}
