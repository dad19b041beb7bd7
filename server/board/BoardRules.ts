import { createTLSchema, type TLRecord, type TLSchema } from '@tldraw/tlschema'
import type * as Y from 'yjs'
import { MAX_TITLE_LENGTH, SCHEMA_KEY, TITLE_KEY } from '../../lib/board'
import { PRESENCE_FIELD, presenceIdForClient } from '../../lib/presence'
import { BoardWatcher } from './BoardWatcher'

export { CORRECTION, LOADING } from './origins'

/** A change the server refuses, and what to put back. */
export interface Violation {
  where: 'records' | 'meta'
  key: string
  reason: string
  /** The value before the change; undefined means the key did not exist. */
  previous: unknown
}

export interface BoardRulesOptions {
  /** Largest JSON size of one record. */
  maxRecordBytes: number
}

/**
 * tldraw's rules for the parts of a Y.Doc that hold a board (`records` and `meta`), with
 * tldraw's own validators. Everything else in the document is left alone, so other Yjs
 * apps can share a room.
 *
 * @example
 * const rules = new BoardRules({ maxRecordBytes: 256 * 1024 })
 * const watcher = rules.watch(doc)
 * Y.applyUpdate(doc, update)
 * const violations = watcher.take()
 * if (violations.length) watcher.revert(violations)
 */
export class BoardRules {
  readonly schema: TLSchema = createTLSchema()
  private readonly documentTypes: Set<string>

  constructor(readonly options: BoardRulesOptions) {
    this.documentTypes = new Set(
      Object.entries(this.schema.types)
        .filter(([, type]) => type.scope === 'document')
        .map(([name]) => name),
    )
  }

  /** Starts collecting violations of the rules in `doc`. */
  watch(doc: Y.Doc): BoardWatcher {
    return new BoardWatcher(doc, this)
  }

  /** Whether `value` is a record of a type tldraw syncs (document scope): what a board's history shows. */
  isDocumentRecord(value: unknown): boolean {
    const typeName = (value as { typeName?: unknown } | null)?.typeName
    return typeof typeName === 'string' && this.documentTypes.has(typeName)
  }

  /** Why a record value is not acceptable under `key`, or null when it is. */
  recordProblem(key: string, value: unknown, before: unknown): string | null {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'record is not an object'
    const record = value as { id?: unknown; typeName?: unknown }
    if (record.id !== key) return `record id ${JSON.stringify(record.id)} does not match its key`
    if (typeof record.typeName !== 'string' || !this.documentTypes.has(record.typeName)) {
      return `record type ${JSON.stringify(record.typeName)} is not a synced tldraw record type`
    }
    const size = jsonSize(value)
    if (size > this.options.maxRecordBytes) return `record is ${size} bytes; the limit is ${this.options.maxRecordBytes}`
    try {
      const type = this.schema.types[record.typeName as TLRecord['typeName']]
      type.validate(value, isRecordLike(before) ? (before as never) : undefined)
    } catch (err) {
      return `invalid ${record.typeName}: ${err instanceof Error ? err.message.slice(0, 300) : String(err)}`
    }
    return null
  }

  metaProblem(key: string, value: unknown): string | null {
    if (key === SCHEMA_KEY) {
      if (value === undefined) return 'the schema may not be deleted'
      if (typeof value !== 'object' || value === null) return 'schema is not an object'
      try {
        const result = this.schema.getMigrationsSince(value as never)
        if (!result.ok) return 'schema is not one this server knows'
      } catch {
        return 'schema is not a tldraw serialized schema'
      }
      return null
    }
    if (key === TITLE_KEY) {
      if (value === undefined) return null
      if (typeof value !== 'string' || value.length > MAX_TITLE_LENGTH) {
        return `title must be a string of at most ${MAX_TITLE_LENGTH} characters`
      }
    }
    return null
  }

  /**
   * Why an awareness state is refused, or null. `presence`, when set, must be a valid
   * instance_presence record whose id is bound to the sender's client id.
   */
  awarenessProblem(clientId: number, state: unknown): string | null {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) return 'awareness state is not an object'
    const presence = (state as Record<string, unknown>)[PRESENCE_FIELD]
    if (presence === undefined || presence === null) return null
    if (typeof presence !== 'object') return 'presence is not an object'
    const record = presence as { id?: unknown; typeName?: unknown }
    if (record.typeName !== 'instance_presence') return 'presence is not an instance_presence record'
    if (record.id !== presenceIdForClient(clientId)) return `presence id ${JSON.stringify(record.id)} is not bound to client ${clientId}`
    try {
      this.schema.types.instance_presence.validate(presence)
    } catch (err) {
      return `invalid presence: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}`
    }
    return null
  }
}

function isRecordLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'typeName' in value
}

function jsonSize(value: unknown): number {
  try {
    return JSON.stringify(value).length
  } catch {
    return Number.POSITIVE_INFINITY
  }
}
