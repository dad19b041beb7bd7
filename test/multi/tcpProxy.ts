/**
 * A loopback TCP proxy a test can cut and restore, standing between an instance and
 * Redis or PostgreSQL: an outage of one instance's link without stopping the shared
 * service everyone else on the machine uses, and at the moment the test chooses.
 */
import net from 'node:net'

export interface TcpProxy {
  port: number
  /** Drops every open connection and refuses new ones (they are reset at once). */
  cut(): void
  restore(): void
  close(): Promise<void>
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>()
  let isCut = false
  const server = net.createServer((client) => {
    if (isCut) {
      client.resetAndDestroy()
      return
    }
    const upstream = net.connect(targetPort, targetHost)
    sockets.add(client)
    sockets.add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('proxy has no port')
  const cut = () => {
    isCut = true
    for (const s of sockets) s.resetAndDestroy()
    sockets.clear()
  }
  return {
    port: address.port,
    cut,
    restore() {
      isCut = false
    },
    close() {
      cut()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** `scheme://user@127.0.0.1:<proxy port>/path` for a service URL. */
export function viaProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url)
  parsed.hostname = '127.0.0.1'
  parsed.port = String(proxy.port)
  return parsed.toString()
}

export function hostAndPort(url: string, defaultPort: number): { host: string; port: number } {
  const parsed = new URL(url)
  return { host: parsed.hostname || '127.0.0.1', port: parsed.port ? Number(parsed.port) : defaultPort }
}
