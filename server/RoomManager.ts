import type { Logger } from 'pino'
import { Room, type RoomOptions } from './Room'

/**
 * Keeps one Room per id: loads it once however many join at the same moment, and
 * unloads it once its last connection has left and its changes are stored.
 */
export interface RoomLifecycle {
  /** Awaited before joiners are let in: a Bus subscribes here and catches up with peers. */
  loaded?(room: Room): Promise<void>
  unloaded?(room: Room): void
}

export class RoomManager {
  private readonly rooms = new Map<string, Room>()
  private readonly unloads = new Map<string, Promise<void>>()
  private readonly loads = new Map<string, Promise<Room>>()

  constructor(
    private readonly roomOptions: RoomOptions,
    private readonly log: Logger,
    /** Grace period before an empty room is unloaded, so a page reload finds it warm. */
    private readonly unloadDelayMs: number,
    /** Told when a room is loaded and before it is unloaded (the Bus subscribes and unsubscribes). */
    private readonly lifecycle: RoomLifecycle = {},
  ) {}

  get size(): number {
    return this.rooms.size
  }

  values(): IterableIterator<Room> {
    return this.rooms.values()
  }

  get(roomId: string): Room | undefined {
    return this.rooms.get(roomId)
  }

  /**
   * Returns the loaded room, loading it if needed. The caller must call `room.joining--`
   * once it has joined (or given up). Rejects when the store cannot be read.
   */
  async open(roomId: string): Promise<Room> {
    for (;;) {
      const unloading = this.unloads.get(roomId)
      if (unloading) {
        await unloading
        continue
      }
      const existing = this.rooms.get(roomId)
      if (existing && existing.state === 'ready') {
        existing.joining++
        return existing
      }
      const loading = this.loads.get(roomId)
      if (loading) {
        await loading
        continue
      }
      this.loads.set(roomId, this.load(roomId))
    }
  }

  private async load(roomId: string): Promise<Room> {
    const room = new Room(roomId, this.roomOptions)
    try {
      await room.load()
      await this.lifecycle.loaded?.(room)
      this.rooms.set(roomId, room)
      return room
    } catch (err) {
      room.doc.destroy()
      throw err
    } finally {
      this.loads.delete(roomId)
    }
  }

  /** Called when a connection left: unloads the room after the grace period if it stays empty. */
  released(room: Room): void {
    if (room.connections.size > 0 || room.joining > 0) return
    const timer = setTimeout(() => void this.unloadIfIdle(room), this.unloadDelayMs)
    timer.unref()
  }

  private async unloadIfIdle(room: Room): Promise<void> {
    if (room.connections.size > 0 || room.joining > 0 || this.rooms.get(room.id) !== room) return
    if (room.state !== 'ready' && room.state !== 'failed') return
    const done = room
      .unload()
      .catch((err: unknown) => this.log.error({ err, room: room.id }, 'room unload failed; its log stays uncompacted'))
      .finally(() => {
        this.rooms.delete(room.id)
        this.unloads.delete(room.id)
        this.lifecycle.unloaded?.(room)
        this.roomOptions.store.forget?.(room.id)
      })
    this.unloads.set(room.id, done)
    await done
  }

  /** Unloads every room (shutdown). */
  async unloadAll(): Promise<void> {
    await Promise.all([...this.unloads.values()])
    await Promise.all(
      [...this.rooms.values()].map((room) =>
        room
          .unload()
          .catch((err: unknown) => this.log.error({ err, room: room.id }, 'room unload failed at shutdown'))
          .finally(() => this.lifecycle.unloaded?.(room)),
      ),
    )
    this.rooms.clear()
  }
}
