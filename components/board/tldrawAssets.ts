import { getAssetUrls } from '@tldraw/assets/selfHosted'

/** Copied into public/ by next.config.js; see there. */
export const TLDRAW_ASSET_URLS = getAssetUrls({ baseUrl: '/tldraw-assets' })
