import type { TLAssetStore } from 'tldraw'
import { ASSET_BOARD_HEADER, ASSET_TYPES, ASSETS_PATH } from '@/lib/assets'

/** What the server answers on `GET /api/assets`. */
export interface AssetLimits {
  maxBytes: number
  types: readonly string[]
}

/** What the editor assumes when the server cannot be asked: the server's own defaults. */
export const DEFAULT_ASSET_LIMITS: AssetLimits = {
  maxBytes: 10 * 1024 * 1024,
  types: ASSET_TYPES,
}

/**
 * Asks the server which images it takes, so the editor can refuse before uploading.
 *
 * @example
 * const limits = await fetchAssetLimits(controller.signal).catch(() => DEFAULT_ASSET_LIMITS)
 */
export async function fetchAssetLimits(signal?: AbortSignal): Promise<AssetLimits> {
  const res = await fetch(ASSETS_PATH, { signal })
  if (!res.ok) throw new Error(`GET ${ASSETS_PATH} answered ${res.status}`)
  const body = (await res.json()) as Partial<AssetLimits>
  return {
    maxBytes: typeof body.maxBytes === 'number' ? body.maxBytes : DEFAULT_ASSET_LIMITS.maxBytes,
    types: Array.isArray(body.types) ? body.types : DEFAULT_ASSET_LIMITS.types,
  }
}

/**
 * Uploads pasted and dropped files to our own server, so the document stores a short URL
 * and never a base64 payload. `board` (the room id or an edit token) is the capability the
 * server asks of an upload; it travels in a header, never in the URL.
 *
 * @example
 * createTLStore({ assets: createAssetStore({ board: roomId, onError: (msg) => toast(msg) }) })
 */
export function createAssetStore(opts: { board: string; onError(message: string): void }): TLAssetStore {
  return {
    async upload(_asset, file, abortSignal) {
      let res: Response
      try {
        res = await fetch(ASSETS_PATH, {
          method: 'POST',
          body: file,
          headers: { 'content-type': file.type || 'application/octet-stream', [ASSET_BOARD_HEADER]: opts.board },
          signal: abortSignal,
        })
      } catch (err) {
        opts.onError('Could not upload the image: the server is not reachable.')
        throw err
      }
      const body = (await res.json().catch(() => ({}))) as { url?: string; error?: string }
      if (!res.ok || typeof body.url !== 'string') {
        const message = body.error ?? `Could not upload the image (server answered ${res.status}).`
        opts.onError(message)
        throw new Error(message)
      }
      return { src: body.url }
    },
    resolve(asset) {
      return asset.props.src
    },
  }
}
