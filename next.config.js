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
 * One id per build, also inlined into the app (NEXT_PUBLIC_SKETCHROOM_BUILD_ID) so the
 * service worker is registered under it (public/sw.js). `next build` loads this config
 * before it starts its workers, which inherit the environment, so all agree.
 */
process.env.NEXT_PUBLIC_SKETCHROOM_BUILD_ID ??= `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
const buildId = process.env.NEXT_PUBLIC_SKETCHROOM_BUILD_ID

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
