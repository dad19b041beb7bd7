import type { ReactNode } from 'react'
import { connection } from 'next/server'
import './globals.css'

export const metadata = {
  title: 'sketchroom',
  description: 'A live collaborative whiteboard you can host yourself',
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Every page is rendered per request, so its scripts carry that response's CSP nonce
  // (the server puts it in the request's CSP header; a prerendered page would have none).
  await connection()
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}
