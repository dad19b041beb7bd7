/**
 * Transaction origins the board rules know. Content with either origin is not checked
 * again: the server wrote it itself, or checked it when it was first written.
 */
/** Transaction origin of the server's own corrections; they are not validated again. */
export const CORRECTION = Symbol('sketchroom-correction')

/** Transaction origin for loading stored content, which was validated when it was written. */
export const LOADING = Symbol('sketchroom-loading')
