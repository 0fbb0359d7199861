// make screenshot: the status page's picture in the docs, taken from the
// running stack (`make up`, as the quick start starts it) during a real
// failover. Traffic flows through Nginx, the serving pool is made to fail as
// `make chaos` does, and the page is shot once it shows the other pool
// serving and the failover open; then chaos stops and traffic flows until the
// watcher has closed the incident (a condition resolves only while requests
// flow, after RECOVERY_HOLD_SEC and what is left of ALERT_COOLDOWN_SEC: about
// 5 min with the quick start's settings), so it leaves things as it found them.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Refusal } from '../release/refusal.js';
import { openLoop, otherPool, publicOrigin, REPO_ROOT, servingPool, type StackSettings } from '../stack/index.js';

export const SCREENSHOT_FILE = path.join(REPO_ROOT, 'docs', 'status-page.png');
// Enough for the page to show the change with the next requests.
const LOAD_PER_SECOND = 10;
// Nginx's fail_timeout and slack, on top of the hold and the cooldown.
const HEAL_SLACK_MS = 60_000;
const PROGRESS_EVERY_MS = 30_000;
const AUDIT_SHOWN_MS = 5_000;

export interface FaultControl {
  /** Makes `pool` fail (and records it, as make chaos does). */
  start(pool: 'blue' | 'green'): Promise<void>;
  /** Ends chaos on both pools. */
  stop(): Promise<void>;
}

export interface ScreenshotOptions {
  file?: string;
  /** Traffic before the failure; the charts draw 10 s steps, so some of them. */
  beforeMs?: number;
  /** How far into the failover the page is shot: some steps of it on the charts. */
  duringMs?: number;
  /** How soon after chaos the page must show the failover. */
  shownWithinMs?: number;
  log?: (line: string) => void;
}

export async function statusPageScreenshot(s: StackSettings, fault: FaultControl, opts: ScreenshotOptions = {}): Promise<number> {
  const { file = SCREENSHOT_FILE, beforeMs = 30_000, duringMs = 20_000, shownWithinMs = 15_000, log = console.log } = opts;
  // playwright-core only here: every other command starts without it.
  const { CHROMIUM, openPage } = await import('../stack/browser.js');
  if (!existsSync(CHROMIUM)) throw new Refusal(`no Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  const serving = servingPool(s);
  const backup = otherPool(serving);
  const url = `http://127.0.0.1:${s.WATCHER_HOST_PORT}/`;
  const view = await openPage(url).catch((err: Error) => {
    throw new Refusal(`cannot open the status page at ${url} (is the stack up? make up): ${err.message.split('\n')[0]}`);
  });
  const stopLoad = new AbortController();
  const load = openLoop({ origin: publicOrigin(s), path: '/version', rate: LOAD_PER_SECOND, durationMs: Number.POSITIVE_INFINITY, until: stopLoad.signal });
  let faulted = false;
  // Ctrl-C must not leave a pool failing: chaos stops first, then the command leaves.
  const onSignal = () => {
    log('screenshot: interrupted; stopping chaos');
    void (faulted ? fault.stop() : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    log(`screenshot: waiting for ${url} to show ${serving} serving with nothing open`);
    await view.waitFor({ serving, incidents: '0' }, 60_000).catch(refuse('the stack is not healthy'));
    log(`screenshot: ${LOAD_PER_SECOND} requests/s through Nginx for ${beforeMs / 1000} s, then ${serving} fails (as make chaos)`);
    await sleep(beforeMs);
    await fault.start(serving);
    faulted = true;
    const shownMs = await view.waitFor({ serving: backup, incidents: '>0' }, shownWithinMs).catch(refuse('no failover on the page'));
    // The audit trail's chaos row, read again at most once a second.
    await view.page.getByTestId('history-row').filter({ hasText: 'chaos_start' }).first().waitFor({ timeout: AUDIT_SHOWN_MS }).catch(() => undefined);
    await sleep(duringMs);
    await view.screenshot(file);
    log(`screenshot: the page showed ${backup} serving and the failover open ${shownMs} ms after chaos; wrote ${path.relative(process.cwd(), file)}`);
    await fault.stop();
    faulted = false;
    await view.waitFor({ serving }, HEAL_SLACK_MS).catch(refuse(`${serving} did not serve again`));
    const healMs = (s.ALERT_COOLDOWN_SEC + s.RECOVERY_HOLD_SEC) * 1000 + HEAL_SLACK_MS;
    log(`screenshot: ${serving} serves again; traffic goes on until the all-clear (RECOVERY_HOLD_SEC ${s.RECOVERY_HOLD_SEC} s, ALERT_COOLDOWN_SEC ${s.ALERT_COOLDOWN_SEC} s)`);
    const healed = Date.now();
    const progress = setInterval(() => log(`screenshot: ${Math.round((Date.now() - healed) / 1000)} s, still waiting for the all-clear`), PROGRESS_EVERY_MS);
    try {
      await view.waitFor({ serving, incidents: '0' }, healMs).catch(refuse('the failover never closed'));
    } finally {
      clearInterval(progress);
    }
    log(`screenshot: nothing open after ${Math.round((Date.now() - healed) / 1000)} s`);
    if (view.errors.length > 0) throw new Refusal(`the page logged errors: ${view.errors.join('; ')}`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (faulted) await fault.stop().catch(() => undefined);
    stopLoad.abort();
    await load;
    await view.close();
  }
}

const refuse = (what: string) => (err: Error): never => {
  throw new Refusal(`${what}: ${err.message}`);
};
