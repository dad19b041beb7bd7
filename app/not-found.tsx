import Link from 'next/link'

export const metadata = { title: 'Not found · sketchroom' }

export default function NotFound() {
  return (
    <main className="sr-page">
      <h1>No such board</h1>
      <p>This link does not point to a board. Check that it was copied whole, or start a new one.</p>
      <p>
        <Link href="/">Go to sketchroom</Link>
      </p>
    </main>
  )
}
