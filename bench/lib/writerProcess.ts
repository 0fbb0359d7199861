// The parent's side of bench/lib/logWriter.ts: forks it with a job, and turns
// its messages into promises and progress callbacks.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WriterJob, WriterMessage } from './logWriter.js';

export type Done = Extract<WriterMessage, { type: 'done' }>;

export interface WriterProcess {
  /** What the job will write in all, known before it starts. */
  planned: { lines: number; bytes: number };
  /** Starts writing; resolves with the writer's report when it is done. */
  go(onProgress?: (lines: number, bytes: number) => void): Promise<Done>;
  kill(): void;
}

const SCRIPT = fileURLToPath(new URL('./logWriter.js', import.meta.url));

export async function startWriter(job: WriterJob): Promise<WriterProcess> {
  const child: ChildProcess = fork(SCRIPT, [JSON.stringify(job)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) => reject(new Error(`log writer exited (${code ?? signal}) before it was done`))),
  );
  const ready = new Promise<WriterMessage>((resolve) => child.once('message', (m: WriterMessage) => resolve(m)));
  const planned = await Promise.race([ready, exited]);
  return {
    planned: { lines: planned.lines, bytes: planned.bytes },
    async go(onProgress) {
      const done = new Promise<Done>((resolve) => {
        child.on('message', (m: WriterMessage) => {
          if (m.type === 'progress') onProgress?.(m.lines, m.bytes);
          if (m.type === 'done') resolve(m);
        });
      });
      child.send('go');
      return Promise.race([done, exited]);
    },
    kill: () => void child.kill(),
  };
}
