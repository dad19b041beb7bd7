/**
 * Presence travels in Yjs awareness. Each client's `presence` field is a tldraw
 * `instance_presence` record whose id is derived from the sender's awareness client id,
 * so a client cannot speak for another: receivers (and the server) check the binding.
 */
export const PRESENCE_FIELD = 'presence'
export const USER_FIELD = 'user'

/** The only `instance_presence` id a given awareness client may publish. */
export function presenceIdForClient(clientId: number): `instance_presence:${string}` {
  return `instance_presence:yjs-${clientId}`
}

/** What a client publishes as `user` in awareness. */
export interface AwarenessUser {
  id: string
  name: string
  color: string
}
