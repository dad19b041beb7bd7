-- sketchroom's PostgreSQL schema, data format 2 (server/storage/dataFormat.ts).
-- `npm run migrate` applies it, and every sync instance applies it on start (it is
-- idempotent), inside the schema named by DATABASE_SCHEMA.

-- What the data is: `format` (the data format number) and `release` (the sketchroom
-- release that last migrated the schema). A release refuses a format newer than its own.
CREATE TABLE IF NOT EXISTS sketchroom_meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);

-- One row per room: the sequence number of its newest log entry. Appends take this row's
-- lock until they commit, so a room's entries commit in sequence order and an instance
-- that has read up to N has seen every entry up to N (PostgresStore.catchUp relies on it).
CREATE TABLE IF NOT EXISTS sketchroom_rooms (
  room text PRIMARY KEY,
  seq  bigint NOT NULL
);

-- A room's log: Yjs updates (v1), in sequence order. `origin` is the instance that
-- appended the entry (NULL for compaction snapshots, which every instance must read).
CREATE TABLE IF NOT EXISTS sketchroom_updates (
  room   text   NOT NULL,
  seq    bigint NOT NULL,
  origin text,
  data   bytea  NOT NULL,
  PRIMARY KEY (room, seq)
);

-- Data format 2: the board catalog (one row per stored board: listing, trash, link
-- revocation) and the versions of each board. A version is a keyframe (base NULL: the
-- whole document) or a diff against one; a keyframe deleted while others still need it
-- stays, hidden.
CREATE TABLE IF NOT EXISTS sketchroom_boards (
  room            text    PRIMARY KEY,
  created_at      bigint  NOT NULL,
  changed_at      bigint,
  opened_at       bigint,
  title           text    NOT NULL DEFAULT '',
  shapes          integer NOT NULL DEFAULT 0,
  bytes           bigint  NOT NULL DEFAULT 0,
  deleted_at      bigint,
  link_generation integer NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS sketchroom_versions (
  room       text    NOT NULL,
  id         text    NOT NULL,
  created_at bigint  NOT NULL,
  reason     text    NOT NULL,
  name       text,
  shapes     integer NOT NULL,
  bytes      bigint  NOT NULL,
  editors    text    NOT NULL,
  hash       text    NOT NULL,
  base       text,
  hidden     boolean NOT NULL DEFAULT false,
  data       bytea   NOT NULL,
  PRIMARY KEY (room, id)
);
