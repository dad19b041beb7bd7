import { randomBytes } from 'node:crypto'
import { hostAndPort, startTcpProxy, type TcpProxy, viaProxy } from '../../test/multi/tcpProxy'
import type { Bus } from './Bus'
import { busContract } from './Bus.contract'
import { RedisBus } from './RedisBus'

/** The real Redis of this machine (or CI); each fixture uses its own channel prefix. */
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

busContract('Redis', async () => {
  const prefix = `sketchroom-test-${randomBytes(6).toString('hex')}:`
  const target = hostAndPort(url, 6379)
  // Each bus reaches Redis through its own proxy, so the test can cut one link alone.
  const proxies = new Map<Bus, TcpProxy>()
  const open = async () => {
    const proxy = await startTcpProxy(target.host, target.port)
    const bus = new RedisBus({ url: viaProxy(url, proxy), prefix, connectTimeoutMs: 2000 })
    await bus.connect()
    proxies.set(bus, proxy)
    return bus
  }
  const buses: [RedisBus, RedisBus, RedisBus] = [await open(), await open(), await open()]
  return {
    buses,
    cut: (bus) => proxies.get(bus)!.cut(),
    restore: (bus) => proxies.get(bus)!.restore(),
    close: async () => {
      for (const bus of buses) await bus.close()
      for (const proxy of proxies.values()) await proxy.close()
    },
  }
})
