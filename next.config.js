/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  // The sync server, not Next.js, owns /sync and /healthz; nothing to configure for them here.
  poweredByHeader: false,
}

export default nextConfig
