import type { Metadata } from 'next'
import { notFound } from 'next/navigation'
import BoardLoader from '@/components/board/BoardLoader'
import { isValidRoomId } from '@/lib/roomId'
import { boardCard, NOINDEX, oembedAlternates } from '../../oembed'

type Params = { params: Promise<{ roomId: string }> }

export async function generateMetadata({ params }: Params): Promise<Metadata> {
  const { roomId } = await params
  if (!isValidRoomId(roomId)) return { title: 'Not found · sketchroom' }
  return { ...(await boardCard('Board')), robots: NOINDEX, alternates: await oembedAlternates(`/b/${roomId}`) }
}

export default async function BoardPage({ params }: Params) {
  const { roomId } = await params
  if (!isValidRoomId(roomId)) notFound()
  return <BoardLoader link={{ kind: 'room', roomId }} />
}
