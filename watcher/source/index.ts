// The source stage: follows Nginx's access log and hands each complete line on.
// source/follower.ts runs the loop and composes the rest: source/pollSchedule.ts
// says when to look again (a stat poll, with inotify hints from
// source/changeHints.ts ending its sleep early); source/fileWatcher.ts reads one
// file at its own offset and handles truncation and rotation (and says why the
// `tail` package is not used); source/fileQueue.ts says which file comes next,
// using source/resume.ts after a restart to find the saved file among the
// rotated ones; a file is recognised across renames and restarts by
// source/fingerprint.ts; bytes become lines in source/lineReader.ts.
export { startSource } from './follower.js';
export type { DroppedLine, Source, SourceOptions, SourcePosition, SourceStatus } from './types.js';
