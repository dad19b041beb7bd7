/** Boards for the browser benchmarks, filled from Node the way a peer would fill them. */
import { createShapeId, toRichText } from '@tldraw/tlschema'
import { getIndices } from '@tldraw/utils'
import { geoShape, records, schema } from '../test/abuse/board'
import { connectClient, sleep, waitFor } from '../test/helpers'

/**
 * Writes `n` geo shapes (50×50 on a 100-wide grid, no label) onto the board's page from a
 * stock y-websocket client in Node, in the app's format (YKeyValue of whole tldraw
 * records), `chunk` records per Yjs transaction (= one WebSocket message each).
 */
export async function seedShapes(wsUrl: string, roomId: string, n: number, chunk: number): Promise<void> {
  const client = connectClient(wsUrl, roomId)
  try {
    await waitFor(() => client.provider.synced, 'the seeding client to sync', 30_000)
    const kv = records(client.doc)
    const findPage = () => [...kv.map.values()].map((e) => e.val as { typeName?: string; id?: string }).find((r) => r.typeName === 'page')
    await waitFor(() => findPage() !== undefined, 'the board to have a page', 30_000)
    const page = findPage()!
    const indices = getIndices(n)
    const shapes = Array.from({ length: n }, (_, i) => ({
      ...geoShape(createShapeId(), { w: 50, h: 50, richText: toRichText('') }),
      x: (i % 100) * 60,
      y: Math.floor(i / 100) * 60,
      index: indices[i]!,
      parentId: page.id!,
    }))
    schema.types.shape.validate(shapes[0]) // the server validates every record the same way
    for (let start = 0; start < n; start += chunk) {
      client.doc.transact(() => {
        for (const shape of shapes.slice(start, start + chunk)) kv.set(shape.id, shape)
      })
      // Spread the messages out a little: the server counts them (MAX_MESSAGES_PER_SECOND).
      await sleep(100)
    }
    const ws = client.provider.ws as unknown as { bufferedAmount: number } | null
    await waitFor(() => (ws?.bufferedAmount ?? 0) === 0, 'the seed to be sent', 60_000)
  } finally {
    client.destroy()
  }
}
