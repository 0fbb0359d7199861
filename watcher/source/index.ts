// The source stage: follows Nginx's access log and hands each complete line on.
// The polling loop, with its resume, truncation and rotation handling, is
// source/follower.ts (which also says why the `tail` package is not used);
// bytes become lines in source/lineReader.ts; inotify hints that end a poll's
// sleep early are source/changeHints.ts; a file is recognised across renames
// and restarts by source/fingerprint.ts; after a restart, source/resume.ts finds
// the saved file among the rotated ones and lists what to read before the log.
export { startSource } from './follower.js';
export type { DroppedLine, Source, SourceOptions, SourcePosition, SourceStatus } from './types.js';
