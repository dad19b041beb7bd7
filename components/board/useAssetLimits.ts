'use client'

import { useEffect, useState } from 'react'
import { DEFAULT_ASSET_LIMITS, fetchAssetLimits, type AssetLimits } from '@/components/sync/assetStore'

/**
 * The server's image limits, or the defaults if it cannot say; null until known. The
 * editor waits for them: changing them after it mounts would rebuild it.
 */
export function useAssetLimits(): AssetLimits | null {
  const [limits, setLimits] = useState<AssetLimits | null>(null)
  useEffect(() => {
    const controller = new AbortController()
    fetchAssetLimits(controller.signal).then(setLimits, (err: unknown) => {
      if (controller.signal.aborted) return
      console.warn('[sketchroom] using default image limits', err)
      setLimits(DEFAULT_ASSET_LIMITS)
    })
    return () => controller.abort()
  }, [])
  return limits
}
