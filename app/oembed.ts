import type { Metadata } from 'next'
import { headers } from 'next/headers'
import { BOARD_PREVIEW_HEADER, BOARD_TITLE_HEADER, oembedUrl, PUBLIC_ORIGIN_HEADER } from '@/lib/links'

/**
 * The oEmbed discovery `<link>` for a board or view page, so a pasted link unfurls as a
 * live board in apps that speak oEmbed. The server tells the page its public origin (by
 * the same rule as its API and upgrade); when it does not (the request's Host is not one
 * links may name), the page carries no discovery link rather than one on a guessed origin.
 */
export async function oembedAlternates(pagePath: string): Promise<Metadata['alternates']> {
  const origin = (await headers()).get(PUBLIC_ORIGIN_HEADER)
  if (!origin) return undefined
  return { types: { 'application/json+oembed': oembedUrl(origin, origin + pagePath) } }
}

/** Board links are capabilities: keep them out of search engines that come across one. */
export const NOINDEX = { index: false, follow: false } as const

function decodeTitle(raw: string | null): string {
  if (!raw) return ''
  try {
    return decodeURIComponent(raw)
  } catch {
    return ''
  }
}

function previewOf(raw: string | null): { path: string; width: number; height: number } | null {
  if (!raw) return null
  try {
    const value = JSON.parse(raw) as { path?: unknown; width?: unknown; height?: unknown }
    if (typeof value.path !== 'string' || !value.path.startsWith('/api/previews/')) return null
    return { path: value.path, width: Number(value.width), height: Number(value.height) }
  } catch {
    return null
  }
}

/**
 * A board page's title and its Open Graph and Twitter card, from what the server told the
 * page (the board's title, and its preview at a URL made of the board's view link, so the
 * card never shows an edit link). Images are absolute, on the server-given public origin;
 * without one (an untrusted Host) the card has no image.
 */
export async function boardCard(fallbackTitle: string): Promise<Pick<Metadata, 'title' | 'openGraph' | 'twitter'>> {
  const h = await headers()
  const origin = h.get(PUBLIC_ORIGIN_HEADER)
  const boardTitle = decodeTitle(h.get(BOARD_TITLE_HEADER)).trim()
  const preview = previewOf(h.get(BOARD_PREVIEW_HEADER))
  const title = boardTitle || fallbackTitle
  const images =
    origin && preview ? [{ url: `${origin}${preview.path}`, width: preview.width, height: preview.height, alt: title }] : undefined
  return {
    title: `${title} · sketchroom`,
    openGraph: { title, siteName: 'sketchroom', type: 'website', images },
    twitter: { card: images ? 'summary_large_image' : 'summary', title, images: images?.map((i) => i.url) },
  }
}
