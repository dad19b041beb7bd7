import { YKeyValue } from 'y-utility/y-keyvalue'
import * as Y from 'yjs'
import { META_KEY, RECORDS_KEY, SCHEMA_KEY, TITLE_KEY } from '../../lib/board'

/**
 * The records and title of an encoded board, and the tldraw schema its records were written
 * with (`meta.schema`; null when the doc holds none).
 */
export function readBoard(state: Uint8Array): { records: Map<string, unknown>; title: string; schema: unknown } {
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, state)
    const records = new Map<string, unknown>()
    for (const [key, entry] of new YKeyValue<unknown>(doc.getArray(RECORDS_KEY)).map) records.set(key, (entry as { val: unknown }).val)
    const meta = doc.getMap(META_KEY)
    const title = meta.get(TITLE_KEY)
    return { records, title: typeof title === 'string' ? title : '', schema: meta.get(SCHEMA_KEY) ?? null }
  } finally {
    doc.destroy()
  }
}
