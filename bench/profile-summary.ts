/**
 * Prints where a `.cpuprofile` (from BENCH_SERVER_ARGS="--cpu-prof --cpu-prof-dir=…")
 * spends its time: self time per function and per package, and time per function with
 * everything it called (inclusive), top entries.
 *
 *   npx tsx bench/profile-summary.ts /tmp/prof/CPU.*.cpuprofile
 */
import fs from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

for (const file of process.argv.slice(2)) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)))
  const total = (p.endTime - p.startTime) / 1000
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  // Paths from the project's own folders, whichever checkout (BENCH_OURS_DIR) they ran from.
  const shortUrl = (url: string) => url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(server|lib|bench)\//, '$1/')
  const keyOf = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    return `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`
  }
  const fn = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const pkg = new Map<string, number>()
  for (const [id, us] of self) {
    const { functionName, url } = byId.get(id)!.callFrame
    const short = shortUrl(url)
    const key = keyOf(id)
    fn.set(key, (fn.get(key) ?? 0) + us / 1000)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = keyOf(at)
      if (!seen.has(k)) inclusive.set(k, (inclusive.get(k) ?? 0) + us / 1000)
      seen.add(k)
    }
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
    const group = m ? m[1]! : url.startsWith('node:') ? 'node:' + url.slice(5).split('/')[0] : url ? short.split('/')[0]! : functionName
    pkg.set(group, (pkg.get(group) ?? 0) + us / 1000)
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => `  ${ms.toFixed(0).padStart(7)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
  console.log(
    `${file}: ${total.toFixed(0)} ms wall\nby package:\n${top(pkg, 12).join('\n')}\nby function (self):\n${top(fn, 25).join('\n')}\nby function (inclusive):\n${top(inclusive, 40).join('\n')}\n`,
  )
}
