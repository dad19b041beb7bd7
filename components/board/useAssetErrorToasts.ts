'use client'

import { useEffect } from 'react'
import { useToasts } from 'tldraw'
import { useBoard } from './BoardContext'

/** Routes asset upload errors to tldraw's toasts, which only exist inside its UI. */
export function useAssetErrorToasts() {
  const { notifyRef } = useBoard()
  const { addToast } = useToasts()
  useEffect(() => {
    notifyRef.current = (message) => addToast({ title: 'Image not added', description: message, severity: 'error' })
    return () => {
      notifyRef.current = null
    }
  }, [notifyRef, addToast])
}
