/**
 * The data format: one number for the layout of everything a store keeps, so a release
 * can tell data it knows from data written by a newer one.
 *
 * - SQLite keeps it in `PRAGMA user_version` of `sketchroom.db`; PostgreSQL in the
 *   `sketchroom_meta` table of `DATABASE_SCHEMA` (key `format`). Both also keep the
 *   release that last opened the data (key `release`), for the messages below.
 * - Releases before versioning wrote format 1's tables without the number; they read as 0.
 * - Opening older data migrates it, in one transaction, after a backup; opening newer data
 *   throws `DataFormatError` before anything is written.
 *
 * Changing what a store writes means: bump `DATA_FORMAT`, add the step to the store's
 * migrations, and add a fixture made by the old release to `test/fixtures/`.
 */
export const DATA_FORMAT = 2

/** Where a store's data lives, for messages: a file path or a PostgreSQL schema. */
export type DataLocation = string

/** Thrown when data was written by a newer release than this one, or is not sketchroom's. */
export class DataFormatError extends Error {
  override readonly name = 'DataFormatError'
  constructor(
    readonly location: DataLocation,
    /** The data's format: what its newer release wrote. */
    readonly found: number,
    /** The release that last opened the data, when it said. */
    readonly writtenBy: string | null,
    /** This release, when the store was told. */
    readonly reader?: string,
  ) {
    super(
      `${location} holds data format ${found}${writtenBy ? ` (last opened by sketchroom ${writtenBy})` : ''}; ` +
        `this release${reader ? ` (sketchroom ${reader})` : ''} reads data formats up to ${DATA_FORMAT}. ` +
        'Run the newer release again, or restore a backup made before the upgrade (npm run restore).',
    )
  }
}

/** Told once a store migrated older data. */
export interface MigrationReport {
  location: DataLocation
  from: number
  to: number
  /** Where the copy taken before migrating is kept (a file, or PostgreSQL tables). */
  backup: string | null
}

/** `2026-12-01T09:02:03.123Z` → `20261201T090203Z`, for names of backup files and tables. */
export function compactTimestamp(date = new Date()): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '')
}
