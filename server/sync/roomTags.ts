import crypto from 'node:crypto'

/**
 * A room id is its board's edit capability, so logs never carry one. They carry a tag: a
 * keyed hash that an operator can still follow across lines, instances and restarts (the
 * key comes from the server secret), and that tells nobody the room id.
 *
 * @example
 * const tagOf = roomTagger(secret)
 * log.info({ room: tagOf(roomId) }, 'connection open')
 */
export function roomTagger(secret: string | Buffer = crypto.randomBytes(32)): (roomId: string) => string {
  const key = crypto.createHmac('sha256', secret).update('sketchroom-log-tags').digest()
  const cache = new Map<string, string>()
  return (roomId) => {
    let tag = cache.get(roomId)
    if (tag === undefined) {
      tag = `r-${crypto.createHmac('sha256', key).update(roomId).digest('base64url').slice(0, 12)}`
      // Bounded: tags of rooms long gone are cheap to compute again.
      if (cache.size > 10_000) cache.clear()
      cache.set(roomId, tag)
    }
    return tag
  }
}
