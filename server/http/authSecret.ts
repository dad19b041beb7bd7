import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

/**
 * The secret that signs links: AUTH_SECRET when set; otherwise one made on first start and
 * kept in DATA_DIR/auth-secret (mode 600), so links keep working across restarts.
 * Instances that share links must share the secret (set AUTH_SECRET, or share DATA_DIR).
 */
export function resolveAuthSecret(configured: string | undefined, dataDir: string): string {
  if (configured) return configured
  const file = path.join(path.resolve(dataDir), 'auth-secret')
  try {
    return fs.readFileSync(file, 'utf8').trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const secret = crypto.randomBytes(32).toString('base64url')
  try {
    // 'wx' fails if another process made it first; then theirs wins.
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' })
    return secret
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim()
    throw err
  }
}
