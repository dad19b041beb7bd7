'use client'

import { useEffect, useState } from 'react'
import type * as Y from 'yjs'
import { RECORDS_KEY } from '@/lib/board'

/**
 * True while the board's doc holds no records at all: nobody has ever drawn on it (the
 * first real change stores the page with it), so the link may be mistyped or cut short.
 *
 * @example
 * const empty = useBoardIsEmpty(doc)
 */
export function useBoardIsEmpty(doc: Y.Doc | null): boolean {
  const [empty, setEmpty] = useState(false)
  useEffect(() => {
    if (!doc) return
    const records = doc.getArray(RECORDS_KEY)
    const read = () => setEmpty(records.length === 0)
    read()
    records.observe(read)
    return () => records.unobserve(read)
  }, [doc])
  return empty
}
