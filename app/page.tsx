export default function Home() {
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 640, margin: '4rem auto', padding: '0 1rem' }}>
      <h1>sketchroom</h1>
      <p>A live collaborative whiteboard you can host yourself.</p>
    </main>
  )
}
