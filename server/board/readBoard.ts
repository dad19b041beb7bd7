import { YKeyValue } from 'y-utility/y-keyvalue'
import * as Y from 'yjs'
import { META_KEY, RECORDS_KEY, TITLE_KEY } from '../../lib/board'

/** The records and title of an encoded board. */
export function readBoard(state: Uint8Array): { records: Map<string, unknown>; title: string } {
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, state)
    const records = new Map<string, unknown>()
    for (const [key, entry] of new YKeyValue<unknown>(doc.getArray(RECORDS_KEY)).map) records.set(key, (entry as { val: unknown }).val)
    const title = doc.getMap(META_KEY).get(TITLE_KEY)
    return { records, title: typeof title === 'string' ? title : '' }
  } finally {
    doc.destroy()
  }
}
