import {
  computed,
  createPresenceStateDerivation,
  createUserId,
  defaultUserPreferences,
  getUserPreferences,
  react,
  type TLInstancePresence,
  type TLRecord,
  type TLStore,
  type TLUser,
} from 'tldraw'
import type { Awareness } from 'y-protocols/awareness'
import { PRESENCE_FIELD, USER_FIELD, presenceIdForClient, type AwarenessUser } from '@/lib/presence'

/** Cursor moves arrive at pointer rate; peers see no difference above ~25 updates a second. */
const PRESENCE_INTERVAL_MS = 40

/**
 * Publishes this user's cursor, selection and viewport in awareness, and mirrors every
 * peer's into the store as `instance_presence` records (what tldraw draws as cursors and
 * lists in the people menu). Name and colour come from tldraw's user preferences, which
 * tldraw keeps in this browser's localStorage.
 *
 * @example
 * const presence = bindPresence(store, provider.awareness)
 * // later
 * presence.dispose()
 */
export function bindPresence(store: TLStore, awareness: Awareness): { dispose(): void } {
  const $user = computed<TLUser>('sketchroom user', () => {
    const prefs = getUserPreferences()
    return {
      // tldraw 5.2+ validates presence user ids as `user:<id>` records, and the editor
      // tells its own presence from peers' by that record id.
      id: createUserId(prefs.id),
      typeName: 'user',
      name: prefs.name ?? defaultUserPreferences.name,
      color: prefs.color ?? defaultUserPreferences.color,
      imageUrl: '',
      meta: {},
    }
  })
  const $presence = createPresenceStateDerivation($user, {
    instanceId: presenceIdForClient(awareness.clientID) as TLInstancePresence['id'],
  })(store)

  let timer: ReturnType<typeof setTimeout> | null = null
  let lastSent = 0
  const publish = () => {
    timer = null
    lastSent = Date.now()
    const user = $user.get()
    const awarenessUser: AwarenessUser = { id: user.id, name: user.name, color: user.color }
    awareness.setLocalStateField(USER_FIELD, awarenessUser)
    awareness.setLocalStateField(PRESENCE_FIELD, $presence.get())
  }
  const stopReacting = react('sketchroom presence', () => {
    $presence.get()
    if (timer) return
    const wait = Math.max(0, PRESENCE_INTERVAL_MS - (Date.now() - lastSent))
    timer = setTimeout(publish, wait)
  })

  // Peers → store. Each peer's record id is bound to its client id, so one client
  // cannot move another's cursor.
  const shown = new Map<number, TLInstancePresence['id']>()
  const sync = (clientIds: number[]) => {
    const toPut: TLRecord[] = []
    const toRemove: TLInstancePresence['id'][] = []
    for (const clientId of clientIds) {
      if (clientId === awareness.clientID) continue
      const state = awareness.getStates().get(clientId) as Record<string, unknown> | undefined
      const expectedId = presenceIdForClient(clientId) as TLInstancePresence['id']
      const candidate = state?.[PRESENCE_FIELD] as Partial<TLInstancePresence> | null | undefined
      if (candidate && candidate.typeName === 'instance_presence' && candidate.id === expectedId) {
        try {
          toPut.push(store.schema.validateRecord(store, candidate as TLInstancePresence, 'updateRecord', store.get(expectedId) ?? null))
          shown.set(clientId, expectedId)
          continue
        } catch (err) {
          console.warn('[sketchroom] ignored invalid presence', { clientId, error: err instanceof Error ? err.message : err })
        }
      }
      const had = shown.get(clientId)
      if (had) {
        toRemove.push(had)
        shown.delete(clientId)
      }
    }
    if (!toPut.length && !toRemove.length) return
    store.mergeRemoteChanges(() => {
      const present = toRemove.filter((id) => store.has(id))
      if (present.length) store.remove(present)
      if (toPut.length) store.put(toPut)
    })
  }
  const onChange = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) =>
    sync([...added, ...updated, ...removed])
  awareness.on('change', onChange)
  sync([...awareness.getStates().keys()])

  return {
    dispose() {
      stopReacting()
      if (timer) clearTimeout(timer)
      awareness.off('change', onChange)
      awareness.setLocalStateField(PRESENCE_FIELD, null)
      const ids = [...shown.values()].filter((id) => store.has(id))
      if (ids.length) store.mergeRemoteChanges(() => store.remove(ids))
    },
  }
}
