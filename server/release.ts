import fs from 'node:fs'

/**
 * This release's version (package.json `version`), kept in stored data and backups and
 * named in the messages of a release that meets data it cannot read.
 *
 * @example
 * new SqliteStore({ file, release: releaseVersion() })
 */
export function releaseVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}
