// Which file is which, across renames and restarts: the sha1 of a file's first
// bytes (see SourcePosition). Nginx's first line starts with a time and a
// random request id, so FINGERPRINT_BYTES tell two log files apart.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { SourcePosition } from './types.js';

const FINGERPRINT_BYTES = 256;

export interface Fingerprint {
  hex: string;
  bytes: number;
}

/** Takes the file's fingerprint once it has a byte, and again once when it reaches FINGERPRINT_BYTES. */
export async function takeFingerprint(
  file: { handle: FileHandle; fingerprint: Fingerprint | undefined },
  size: number,
): Promise<void> {
  const have = file.fingerprint?.bytes ?? 0;
  if (have >= FINGERPRINT_BYTES || size <= have) return;
  file.fingerprint = await fingerprintOf(file.handle, Math.min(size, FINGERPRINT_BYTES));
}

async function fingerprintOf(handle: FileHandle, bytes: number): Promise<Fingerprint | undefined> {
  const head = Buffer.alloc(bytes);
  const { bytesRead } = await handle.read(head, 0, bytes, 0);
  if (bytesRead === 0) return undefined;
  return { hex: createHash('sha1').update(head.subarray(0, bytesRead)).digest('hex'), bytes: bytesRead };
}

/** Whether any file could match `saved`: one from a damaged state matches none, so there is nothing to look for. */
export function isValidPosition({ fingerprintBytes: bytes, offset }: SourcePosition): boolean {
  return Number.isSafeInteger(bytes) && bytes > 0 && bytes <= FINGERPRINT_BYTES && Number.isSafeInteger(offset) && offset >= 0;
}

/** Why `saved` does not describe the file open in `handle`, or undefined when it does. */
export async function whyNotResumable(handle: FileHandle, size: number, saved: SourcePosition): Promise<string | undefined> {
  const { fingerprintBytes: bytes, offset } = saved;
  if (!isValidPosition(saved)) return 'invalid saved position';
  if (size < bytes) return 'shorter than its saved fingerprint: replaced or truncated';
  if ((await fingerprintOf(handle, bytes))?.hex !== saved.fingerprint) return 'its first bytes differ: rotated or replaced';
  if (size < offset) return 'shorter than the saved offset: truncated';
  return undefined;
}
