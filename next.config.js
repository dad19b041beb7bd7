import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.dirname(fileURLToPath(import.meta.url))

/**
 * tldraw's fonts, icons and translations are served from our own origin, never a CDN:
 * copy them from the installed @tldraw/assets into public/ whenever Next loads this
 * config (dev and build), so they always match the installed tldraw version.
 */
function copyTldrawAssets() {
  const require = createRequire(import.meta.url)
  const from = path.dirname(require.resolve('@tldraw/assets/package.json'))
  const { version } = JSON.parse(fs.readFileSync(path.join(from, 'package.json'), 'utf8'))
  const to = path.join(root, 'public', 'tldraw-assets')
  const stamp = path.join(to, 'VERSION')
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === version) return
  for (const dir of ['fonts', 'icons', 'translations', 'embed-icons']) {
    fs.cpSync(path.join(from, dir), path.join(to, dir), { recursive: true })
  }
  // Generated: keep it out of git.
  fs.writeFileSync(path.join(to, '.gitignore'), '*\n')
  fs.writeFileSync(stamp, version)
}
copyTldrawAssets()

/**
 * The build id: a digest of everything the app is built from, so every process of one
 * `next build` (it starts workers that load this config again) computes the same one,
 * and a release with any change gets a new one. It is also inlined into the app
 * (NEXT_PUBLIC_SKETCHROOM_BUILD_ID): the service worker is registered under it, so a new
 * release replaces the old worker and its caches (public/sw.js).
 */
function sourceDigest() {
  const hash = createHash('sha256')
  const walk = (p) => {
    if (!fs.existsSync(p)) return
    if (fs.statSync(p).isDirectory()) {
      // Copied from @tldraw/assets, whose version package-lock.json already pins.
      if (path.basename(p) === 'tldraw-assets') return
      for (const entry of fs.readdirSync(p).sort()) walk(path.join(p, entry))
      return
    }
    hash.update(path.relative(root, p)).update('\0').update(fs.readFileSync(p)).update('\0')
  }
  for (const input of ['app', 'components', 'lib', 'public', 'next.config.js', 'package-lock.json', 'tsconfig.json'])
    walk(path.join(root, input))
  return hash.digest('hex').slice(0, 16)
}
const buildId = sourceDigest()

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  // The sync server, not Next.js, owns /sync, /api/assets and /healthz; nothing to configure for them here.
  poweredByHeader: false,
  generateBuildId: async () => buildId,
  env: { NEXT_PUBLIC_SKETCHROOM_BUILD_ID: buildId },
  // `next build` type-checks only what it bundles; `npm run typecheck` covers the rest
  // (server, tests, benches), so one red test file does not block shipping the app.
  typescript: { tsconfigPath: 'tsconfig.next.json' },
}

export default nextConfig
