import type { Logger } from 'pino'
import type { Room } from './Room'

/** Told when a room is loaded and after it is unloaded (the Bus subscribes and unsubscribes). */
export interface RoomLifecycle {
  /** Awaited before joiners are let in: a Bus subscribes here and catches up with peers. */
  loaded?(room: Room): Promise<void>
  unloaded?(room: Room): void
}

/** How often an unclaimed room that could not store everything checks again whether it may go. */
const UNSAVED_RECHECK_MS = 1000

/** A claim on a loaded room: it stays loaded until every handle is released. */
export interface RoomHandle {
  readonly room: Room
  /** Idempotent. */
  release(): void
}

export interface RoomRegistryOptions {
  /** Makes the (not yet loaded) Room for an id. */
  create(roomId: string): Room
  log: Logger
  /** Grace period before an unclaimed room is unloaded, so a page reload finds it warm. */
  unloadDelayMs: number
  lifecycle?: RoomLifecycle
  /** Told once a room is gone, so per-room bookkeeping can go too (the store's). */
  forget?(roomId: string): void
}

/**
 * One Room per id: loaded once however many claim it at the same moment, unloaded once
 * the last claim is released (after a grace period) and its changes are stored.
 *
 * @example
 * const handle = await registry.acquire('abc') // rejects when the store cannot be read
 * handle.room.join(conn)
 * // when the connection closes:
 * handle.release()
 */
export class RoomRegistry {
  private readonly rooms = new Map<string, Room>()
  private readonly claims = new Map<Room, number>()
  private readonly loads = new Map<string, Promise<Room>>()
  private readonly unloads = new Map<string, Promise<void>>()

  constructor(private readonly options: RoomRegistryOptions) {}

  get size(): number {
    return this.rooms.size
  }

  values(): IterableIterator<Room> {
    return this.rooms.values()
  }

  get(roomId: string): Room | undefined {
    return this.rooms.get(roomId)
  }

  /** Claims the room, loading it if needed. */
  async acquire(roomId: string): Promise<RoomHandle> {
    for (;;) {
      const unloading = this.unloads.get(roomId)
      if (unloading) {
        await unloading
        continue
      }
      const existing = this.rooms.get(roomId)
      // A paused room is claimed too (its join refuses, with a reason): never a second Room for one id.
      if (existing && (existing.state === 'ready' || existing.state === 'paused')) return this.claim(existing)
      const loading = this.loads.get(roomId)
      if (loading) {
        await loading
        continue
      }
      this.loads.set(roomId, this.load(roomId))
    }
  }

  private claim(room: Room): RoomHandle {
    this.claims.set(room, (this.claims.get(room) ?? 0) + 1)
    let released = false
    return {
      room,
      release: () => {
        if (released) return
        released = true
        const left = (this.claims.get(room) ?? 1) - 1
        if (left > 0) return void this.claims.set(room, left)
        this.claims.delete(room)
        this.scheduleUnload(room, this.options.unloadDelayMs)
      },
    }
  }

  private async load(roomId: string): Promise<Room> {
    const room = this.options.create(roomId)
    try {
      await room.load()
      await this.options.lifecycle?.loaded?.(room)
      this.rooms.set(roomId, room)
      return room
    } catch (err) {
      room.discard()
      throw err
    } finally {
      this.loads.delete(roomId)
    }
  }

  private scheduleUnload(room: Room, delayMs: number): void {
    const timer = setTimeout(() => void this.unloadIfUnclaimed(room), delayMs)
    timer.unref()
  }

  private async unloadIfUnclaimed(room: Room): Promise<void> {
    if (this.claims.has(room) || this.rooms.get(room.id) !== room) return
    if (room.state === 'paused') {
      // It holds changes the store has not taken yet: it stays until it has stored them.
      this.scheduleUnload(room, Math.max(this.options.unloadDelayMs, UNSAVED_RECHECK_MS))
      return
    }
    if (room.state !== 'ready') return
    let unloaded = true
    const done = room
      .unload()
      .then(
        (ok) => void (unloaded = ok),
        (err: unknown) => this.options.log.error({ err, room: room.tag }, 'room unload failed; its log stays uncompacted'),
      )
      .finally(() => {
        this.unloads.delete(room.id)
        if (!unloaded) return this.scheduleUnload(room, Math.max(this.options.unloadDelayMs, UNSAVED_RECHECK_MS))
        this.rooms.delete(room.id)
        this.gone(room)
      })
    this.unloads.set(room.id, done)
    await done
  }

  private gone(room: Room): void {
    this.options.lifecycle?.unloaded?.(room)
    this.options.forget?.(room.id)
  }

  /** Unloads every room, those still loading included (shutdown). */
  async unloadAll(): Promise<void> {
    // A room that finishes loading after this must not land after the store closed.
    await Promise.allSettled([...this.loads.values()])
    await Promise.all([...this.unloads.values()])
    await Promise.all(
      [...this.rooms.values()].map((room) =>
        room
          .unload({ force: true })
          .catch((err: unknown) => this.options.log.error({ err, room: room.tag }, 'room unload failed at shutdown'))
          .finally(() => this.gone(room)),
      ),
    )
    this.rooms.clear()
    this.claims.clear()
  }
}
