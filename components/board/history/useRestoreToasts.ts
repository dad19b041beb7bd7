'use client'

import { useEffect } from 'react'
import { useToasts } from 'tldraw'
import { useBoard } from '../BoardContext'
import { versionTime } from './versionTime'

/**
 * Tells everyone else on the board when someone restores a version ("Ada restored the
 * version of 10:42"); the person who restored it knows already and hears nothing.
 */
export function useRestoreToasts() {
  const { boardEventRef, history } = useBoard()
  const { addToast } = useToasts()
  useEffect(() => {
    boardEventRef.current = ({ restored }) => {
      if (history?.open.get()) void history.refresh()
      if (history?.claimOwnRestore(restored.versionCreatedAt)) return
      const who = restored.by?.trim() || 'Someone'
      addToast({
        title: `${who} restored the version of ${versionTime(restored.versionCreatedAt)}`,
        description: 'The board changed for everyone. History has the version from just before.',
        severity: 'info',
      })
    }
    return () => {
      boardEventRef.current = null
    }
  }, [boardEventRef, history, addToast])
}
