import { YKeyValue } from 'y-utility/y-keyvalue'
import type * as Y from 'yjs'
import { DOCUMENT_RECORD_ID, META_KEY, RECORDS_KEY } from '../../lib/board'
import type { BoardRules, Violation } from './BoardRules'
import { CORRECTION, LOADING } from './origins'

interface KeyValueChange {
  action: 'add' | 'update' | 'delete'
  oldValue?: unknown
  newValue?: unknown
}

/** Collects violations in one document as transactions apply; reverts them on request. */
export class BoardWatcher {
  /** The board's records (the one YKeyValue of this document: a second would repeat its cleanup). */
  readonly records: YKeyValue<unknown>
  readonly meta: Y.Map<unknown>
  private violations: Violation[] = []

  constructor(
    private readonly doc: Y.Doc,
    private readonly rules: BoardRules,
  ) {
    this.records = new YKeyValue(doc.getArray(RECORDS_KEY))
    this.meta = doc.getMap(META_KEY)
    this.records.on('change', (changes: Map<string, KeyValueChange>, transaction: Y.Transaction) => {
      if (transaction.origin === CORRECTION || transaction.origin === LOADING) return
      for (const [key, change] of changes) this.checkRecord(key, change)
    })
    this.meta.observe((event) => {
      if (event.transaction.origin === CORRECTION || event.transaction.origin === LOADING) return
      for (const [key, change] of event.changes.keys) {
        const value = this.meta.get(key)
        const problem = this.rules.metaProblem(key, change.action === 'delete' ? undefined : value)
        if (problem) this.violations.push({ where: 'meta', key, reason: problem, previous: change.oldValue })
      }
    })
  }

  private checkRecord(key: string, change: KeyValueChange): void {
    if (change.action === 'delete') {
      const previous = change.oldValue as { typeName?: unknown } | undefined
      if (key === DOCUMENT_RECORD_ID) {
        this.violations.push({ where: 'records', key, reason: 'the document record may not be deleted', previous })
      } else if (previous?.typeName === 'page' && !this.hasPage()) {
        this.violations.push({ where: 'records', key, reason: 'the last page may not be deleted', previous })
      }
      return
    }
    const problem = this.rules.recordProblem(key, change.newValue, change.oldValue)
    if (problem) this.violations.push({ where: 'records', key, reason: problem, previous: change.oldValue })
  }

  private hasPage(): boolean {
    for (const entry of this.records.map.values()) {
      if ((entry as { val?: { typeName?: unknown } }).val?.typeName === 'page') return true
    }
    return false
  }

  /** The violations since the last call. */
  take(): Violation[] {
    const out = this.violations
    this.violations = []
    return out
  }

  /** Puts back what the violations changed, in one transaction every peer will receive. */
  revert(violations: Violation[]): void {
    this.doc.transact(() => {
      const done = new Set<string>()
      for (const v of violations) {
        const id = `${v.where}:${v.key}`
        if (done.has(id)) continue
        done.add(id)
        if (v.where === 'records') {
          if (v.previous === undefined) this.records.delete(v.key)
          else this.records.set(v.key, v.previous)
        } else if (v.previous === undefined) this.meta.delete(v.key)
        else this.meta.set(v.key, v.previous)
      }
    }, CORRECTION)
  }
}
