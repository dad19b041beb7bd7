import { notFound } from 'next/navigation'
import BoardLoader from '@/components/board/BoardLoader'
import { parseEmbedOptions } from '@/lib/links'
import { isValidRoomId } from '@/lib/roomId'

export const metadata = { title: 'sketchroom board' }

type Props = {
  params: Promise<{ roomId: string }>
  searchParams: Promise<Record<string, string | string[] | undefined>>
}

/** A board for an iframe: no app chrome; `?readonly=1&ui=0&zoom=fit&theme=dark`. */
export default async function EmbedBoardPage({ params, searchParams }: Props) {
  const { roomId } = await params
  if (!isValidRoomId(roomId)) notFound()
  return <BoardLoader link={{ kind: 'room', roomId }} embed={parseEmbedOptions(await searchParams)} />
}
