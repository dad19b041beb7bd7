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

const ASSET_MENTION = /\/api\/assets\/([0-9a-f]{64})/g
// latin1 maps each byte to one character: the ASCII URL reads as itself, anything else is inert.
const LATIN1 = new TextDecoder('latin1')

/**
 * The uploaded images (their sha256 names) that stored bytes mention as
 * `/api/assets/<sha256>`: a Yjs update, a version, a log entry. Yjs keeps strings as UTF-8,
 * so an asset record's `src` is there verbatim, whatever holds it.
 *
 * @example
 * for (const hash of assetsMentionedIn(stored.update)) keep.add(hash)
 */
export function assetsMentionedIn(bytes: Uint8Array): Set<string> {
  return new Set([...LATIN1.decode(bytes).matchAll(ASSET_MENTION)].map((m) => m[1]!))
}

/** How many leading bytes `sniffImageType` needs. */
export const SNIFF_BYTES = 12

/**
 * The image type of a file from its first bytes (never its name or declared type), or
 * null when it is none a board takes. The server judges uploads by it; the editor uses
 * it to say why a file is refused before uploading anything.
 *
 * @example
 * sniffImageType(new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer())) // 'image/png' | … | null
 */
export function sniffImageType(head: Uint8Array): AssetType | null {
  const at = (i: number) => head[i] ?? -1
  const ascii = (from: number, text: string) => [...text].every((c, i) => at(from + i) === c.charCodeAt(0))
  if (at(0) === 0x89 && ascii(1, 'PNG') && at(4) === 0x0d && at(5) === 0x0a && at(6) === 0x1a && at(7) === 0x0a) return 'image/png'
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return 'image/jpeg'
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'image/gif'
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'image/webp'
  return null
}
