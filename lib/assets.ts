/** Image types a board accepts, judged by their bytes on the server; shared with the editor's upload check. */
export const ASSET_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const
export type AssetType = (typeof ASSET_TYPES)[number]
/** Where uploads go and are served from. */
export const ASSETS_PATH = '/api/assets'
/**
 * The request header an upload names its board in: the room id or an edit token. A header,
 * never the URL, so the capability stays out of access logs, proxies and browser history.
 */
export const ASSET_BOARD_HEADER = 'x-sketchroom-board'
