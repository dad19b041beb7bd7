/** The few ways the HTTP edge answers: JSON, a refused upgrade, a bounded body. */
import http from 'node:http'
import type { Duplex } from 'node:stream'

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

/** Answers an upgrade request with an HTTP error and a reason, and closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const text = `${reason}\n`
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      'Connection: close\r\n\r\n' +
      text,
  )
}

export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge'
}

/** The request body as text, refusing (BodyTooLarge) past `maxBytes`. */
export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
      if (body.length > maxBytes) {
        reject(new BodyTooLarge('request body too large'))
        req.destroy()
      }
    })
    req.on('end', () => resolve(body))
    req.on('error', reject)
  })
}
