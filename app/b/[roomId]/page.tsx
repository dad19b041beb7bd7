import { notFound } from 'next/navigation'
import { isValidRoomId } from '@/lib/roomId'
import BoardClient from './BoardClient'

export const metadata = { title: 'Board · sketchroom' }

export default async function BoardPage({ params }: { params: Promise<{ roomId: string }> }) {
  const { roomId } = await params
  if (!isValidRoomId(roomId)) notFound()
  return <BoardClient roomId={roomId} />
}
