import type { Metadata } from 'next'
import LocalCanvasLoader from '@/components/bench/LocalCanvasLoader'
import { NOINDEX } from '../../oembed'

export const metadata: Metadata = { title: 'tldraw alone · sketchroom', robots: NOINDEX }

/** bench/client.ts's floor: plain tldraw with a snapshot the bench hands the page; nothing is synced or stored. */
export default function LocalCanvasPage() {
  return <LocalCanvasLoader />
}
