/**
 * tldraw's file format (`.tldr`) for a board, both ways, with no I/O: what
 * `npm run boards -- export` writes and `import` reads.
 *
 * A `.tldr` file is `{ tldrawFileFormatVersion: 1, schema, records }`: the serialized
 * schema the records were written with and the document's records (tldraw's own
 * `serializeTldrawJson` / `parseTldrawJsonFile`, which migrate older records on open).
 */
import type { TLRecord, TLSchema } from '@tldraw/tlschema'
import { YKeyValue } from 'y-utility/y-keyvalue'
import * as Y from 'yjs'
import { DOCUMENT_RECORD_ID, MAX_TITLE_LENGTH, META_KEY, RECORDS_KEY, SCHEMA_KEY, TITLE_KEY } from '../../lib/board'
import type { BoardRules } from './BoardRules'

/** The file format version tldraw 5 writes and reads. */
export const TLDR_FILE_FORMAT_VERSION = 1

type SerializedSchema = Parameters<TLSchema['migrateStoreSnapshot']>[0]['schema']

export interface TldrFile {
  tldrawFileFormatVersion: number
  schema: SerializedSchema
  records: TLRecord[]
}

/**
 * A stored board as a `.tldr` file: its document records (sorted by id) under the schema
 * the board was written with, so tldraw migrates them on open exactly as a browser would.
 *
 * @example
 * fs.writeFileSync('plans.tldr', JSON.stringify(boardToTldr((await store.load(id))!.update, rules)))
 */
export function boardToTldr(state: Uint8Array, rules: BoardRules): { file: TldrFile; title: string } {
  const doc = new Y.Doc()
  try {
    Y.applyUpdate(doc, state)
    const meta = doc.getMap(META_KEY)
    const records: TLRecord[] = []
    for (const [, entry] of new YKeyValue<unknown>(doc.getArray(RECORDS_KEY)).map) {
      const value = (entry as { val: unknown }).val
      if (rules.isDocumentRecord(value)) records.push(value as TLRecord)
    }
    records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const schema = (meta.get(SCHEMA_KEY) as SerializedSchema | undefined) ?? rules.schema.serialize()
    const title = meta.get(TITLE_KEY)
    return { file: { tldrawFileFormatVersion: TLDR_FILE_FORMAT_VERSION, schema, records }, title: typeof title === 'string' ? title : '' }
  } finally {
    doc.destroy()
  }
}

export type ParsedTldr = { ok: true; records: TLRecord[]; dropped: number } | { ok: false; problem: string }

/**
 * Reads a `.tldr` file's text and migrates its records to this server's schema. Records
 * that are not part of a document (a session's camera, pointer or page state, which
 * tldraw writes too) are dropped and counted; everything else is left for the board
 * rules to judge (`buildBoard`).
 */
export function parseTldr(text: string, rules: BoardRules): ParsedTldr {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    return { ok: false, problem: `not JSON: ${err instanceof Error ? err.message : String(err)}` }
  }
  const file = data as Partial<TldrFile> | null
  if (typeof file !== 'object' || file === null || Array.isArray(file)) return { ok: false, problem: 'not a tldraw file (not an object)' }
  if ((file as { document?: { version?: unknown } }).document?.version !== undefined) {
    return { ok: false, problem: 'a tldraw v1 file: open it in tldraw and save it again first' }
  }
  if (!Number.isInteger(file.tldrawFileFormatVersion) || (file.tldrawFileFormatVersion as number) < 1) {
    return { ok: false, problem: 'not a tldraw file (no tldrawFileFormatVersion)' }
  }
  if ((file.tldrawFileFormatVersion as number) > TLDR_FILE_FORMAT_VERSION) {
    return { ok: false, problem: `file format ${file.tldrawFileFormatVersion} is newer than this server's tldraw reads` }
  }
  if (typeof file.schema !== 'object' || file.schema === null) return { ok: false, problem: 'not a tldraw file (no schema)' }
  if (!Array.isArray(file.records)) return { ok: false, problem: 'not a tldraw file (no records)' }
  const store: Record<string, TLRecord> = {}
  let dropped = 0
  for (const [i, record] of file.records.entries()) {
    const r = record as { id?: unknown; typeName?: unknown } | null
    if (typeof r !== 'object' || r === null || typeof r.id !== 'string' || typeof r.typeName !== 'string') {
      return { ok: false, problem: `record ${i} has no id or typeName` }
    }
    if (Object.hasOwn(store, r.id)) return { ok: false, problem: `record ${JSON.stringify(r.id)} appears twice` }
    if (!rules.isDocumentRecord(r)) {
      dropped++
      continue
    }
    store[r.id] = structuredClone(record as TLRecord)
  }
  let migrated
  try {
    migrated = rules.schema.migrateStoreSnapshot({ store: store as never, schema: file.schema })
  } catch (err) {
    return { ok: false, problem: `its records could not be migrated: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}` }
  }
  if (migrated.type === 'error') return { ok: false, problem: `its schema cannot be migrated to this server's (${migrated.reason})` }
  return { ok: true, records: Object.values(migrated.value), dropped }
}

export type BuiltBoard = { ok: true; update: Uint8Array; shapes: number } | { ok: false; problems: string[] }

/**
 * A new board's document from records, as one Yjs update, judged by the board rules the
 * way the server judges a client's change: the update is applied to a watched empty
 * document, and any violation refuses the whole board. A board needs its document record
 * and a page.
 *
 * @example
 * const built = buildBoard(parsed.records, 'Plans', rules)
 * if (built.ok) await store.append(newRoomId(), built.update)
 */
export function buildBoard(records: TLRecord[], title: string, rules: BoardRules): BuiltBoard {
  const problems: string[] = []
  if (!records.some((r) => r.id === DOCUMENT_RECORD_ID)) problems.push(`there is no ${DOCUMENT_RECORD_ID} record`)
  if (!records.some((r) => r.typeName === 'page')) problems.push('there is no page')
  if (title.length > MAX_TITLE_LENGTH) problems.push(`the title is longer than ${MAX_TITLE_LENGTH} characters`)
  if (problems.length) return { ok: false, problems }

  const source = new Y.Doc()
  const target = new Y.Doc()
  try {
    const kv = new YKeyValue<unknown>(source.getArray(RECORDS_KEY))
    source.transact(() => {
      for (const record of records) kv.set(record.id, record)
      const meta = source.getMap(META_KEY)
      meta.set(SCHEMA_KEY, rules.schema.serialize())
      if (title) meta.set(TITLE_KEY, title)
    })
    const update = Y.encodeStateAsUpdate(source)
    const watcher = rules.watch(target)
    Y.applyUpdate(target, update)
    const violations = watcher.take()
    if (violations.length) return { ok: false, problems: violations.map((v) => `${v.key}: ${v.reason}`) }
    return { ok: true, update, shapes: records.filter((r) => r.typeName === 'shape').length }
  } finally {
    source.destroy()
    target.destroy()
  }
}
