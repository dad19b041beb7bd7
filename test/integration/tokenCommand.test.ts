/**
 * `npm run token`: links on the server's address, signed with the server's secret, and
 * never a secret of its own in a directory that is not the server's.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { ROOT, tempDir, testScope } from '../helpers'

const { server } = testScope()

function token(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/token.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, AUTH_SECRET: '', PUBLIC_URL: '', PORT: '', DATABASE_URL: '', REDIS_URL: '', ...env },
    encoding: 'utf8',
  })
  return { code: result.status, out: result.stdout.trim(), err: result.stderr }
}

describe('npm run token', () => {
  test('prints links on PUBLIC_URL, else on localhost:PORT, that the server accepts', async () => {
    const s = await server()
    const onPublic = token(['--room', 'tokenRoom', '--mode', 'view'], { DATA_DIR: s.dataDir, PUBLIC_URL: 'https://board.example.com/' })
    expect(onPublic.code).toBe(0)
    expect(onPublic.out).toMatch(/^https:\/\/board\.example\.com\/v\/\S+$/)
    const onPort = token(['--room', 'tokenRoom', '--mode', 'edit', '--ttl', '1h'], { DATA_DIR: s.dataDir, PORT: '4123' })
    expect(onPort.code).toBe(0)
    expect(onPort.out).toMatch(/^http:\/\/localhost:4123\/e\/\S+$/)
    for (const link of [onPublic.out, onPort.out]) {
      const res = await fetch(`http://127.0.0.1:${s.port}/api/tokens/${link.split('/').at(-1)!}`)
      expect(res.status).toBe(200)
    }
  })

  test('refuses a DATA_DIR that is not the server’s, naming the variables, and makes no secret there', () => {
    const dir = path.join(tempDir(), 'not-the-server')
    const refused = token(['--room', 'tokenRoom'], { DATA_DIR: dir })
    expect(refused.code).toBe(1)
    expect(refused.err).toContain(`DATA_DIR=${dir} (${dir}) holds no auth-secret and no sketchroom.db`)
    expect(refused.err).toContain('Set DATA_DIR to the server')
    expect(fs.existsSync(path.join(dir, 'auth-secret'))).toBe(false)
  })

  test('a DATA_DIR with the boards but no auth-secret means the server uses AUTH_SECRET: it says so', async () => {
    const s = await server({ AUTH_SECRET: 'a-secret-of-the-server-0001' })
    await s.close()
    expect(fs.existsSync(path.join(s.dataDir, 'sketchroom.db'))).toBe(true)
    const refused = token(['--room', 'tokenRoom'], { DATA_DIR: s.dataDir })
    expect(refused.code).toBe(1)
    expect(refused.err).toContain('no auth-secret, so the server signs links with AUTH_SECRET')
    expect(fs.existsSync(path.join(s.dataDir, 'auth-secret'))).toBe(false)
    const withSecret = token(['--room', 'tokenRoom'], { DATA_DIR: s.dataDir, AUTH_SECRET: 'a-secret-of-the-server-0001' })
    expect(withSecret.code).toBe(0)
  })
})
