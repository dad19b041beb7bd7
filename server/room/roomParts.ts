/**
 * The parts of one Room, wired to each other and to the room: the document, the outbox
 * (store, then send), the update intake, the history and the awareness table. The Room
 * keeps the state machine and the routing; this is where a newcomer sees which part talks
 * to which.
 */
import { CloseCode } from '../../lib/protocol'
import { AwarenessTable } from './AwarenessTable'
import { BoardHistory, type HistoryHost } from './BoardHistory'
import { Outbox } from './Outbox'
import type { Peer } from './Peer'
import type { Room } from './Room'
import { RoomDocument } from './RoomDocument'
import type { RoomOptions } from './types'
import { type Relay, UpdateIntake } from './UpdateIntake'

/** What the parts need of their room. */
export interface RoomHooks {
  room: Room
  peers: Set<Peer>
  /** Ready (not loading, paused or unloading). */
  isReady(): boolean
  /** Ready with nothing waiting to be stored: a version may be taken. */
  canSnapshot(): boolean
  pause(senders: Array<Peer | null>): void
  resume(): void
  requestFlush(): void
  settle(): Promise<void>
  applyLocal: HistoryHost['applyLocal']
}

export interface RoomParts {
  document: RoomDocument
  outbox: Outbox
  intake: UpdateIntake
  history: BoardHistory | null
  awareness: AwarenessTable
}

export function roomParts(id: string, options: RoomOptions, hooks: RoomHooks): RoomParts {
  const { log, limits, rules, replicate } = options
  const document = new RoomDocument(rules)
  const outbox = new Outbox({
    roomId: id,
    tag: options.tag,
    store: options.store,
    log,
    peers: hooks.peers,
    compactAfterBytes: options.compactAfterBytes,
    compactAfterEntries: options.compactAfterEntries,
    encodedState: () => document.encodedState(),
    observeAppendSeconds: options.observeAppendSeconds,
    onStored: replicate ? (updates) => replicate.updatesStored(hooks.room, updates) : undefined,
    onAwarenessSent: replicate ? (entries) => replicate.awarenessChanged(hooks.room, entries) : undefined,
    onPaused: (_error, unsaved) => hooks.pause(unsaved.map((u) => u.from)),
    onResumed: () => hooks.resume(),
    monitor: options.monitor,
    retryMs: options.storeRetryMs,
  })
  const intake = new UpdateIntake({
    document,
    log: outbox,
    limits,
    logger: log,
    // An update whose dependencies never came: what it did bring validly still goes out.
    onGaveUp: (relay: Relay, sender: Peer) => {
      if (!hooks.isReady()) return
      outbox.queueUpdate(relay)
      hooks.requestFlush()
      sender.close(CloseCode.Malformed, 'malformed message: update depends on changes that were never sent')
    },
  })
  const history = options.versions
    ? new BoardHistory({
        roomId: id,
        catalog: options.store.catalog,
        policy: options.versions,
        log,
        host: {
          snapshot: () => (hooks.canSnapshot() && outbox.idle ? { state: document.encodedState(), ...document.summary() } : null),
          settle: () => hooks.settle(),
          applyLocal: (change) => hooks.applyLocal(change),
        },
      })
    : null
  const awareness = new AwarenessTable({
    maxAwarenessBytes: limits.maxAwarenessBytes,
    rules,
    log,
    onChange: (clientId, entry, from) => outbox.queueAwareness(clientId, entry, from),
  })
  return { document, outbox, intake, history, awareness }
}
