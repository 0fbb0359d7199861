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
import { openLoop, publicOrigin, REPO_ROOT, servingPool, type StackSettings } from '../stack/index.js';

export const SCREENSHOT_FILE = path.join(REPO_ROOT, 'docs', 'status-page.png');
// Enough for the page to show the change with the next requests.
const LOAD_PER_SECOND = 10;
// The charts draw 10 s steps: some before the failure, and some of the failover.
const BEFORE_MS = 30_000;
const DURING_MS = 20_000;
// Nginx's fail_timeout and slack, on top of the hold and the cooldown.
const HEAL_SLACK_MS = 60_000;
const PROGRESS_EVERY_MS = 30_000;
const SHOWN_WITHIN_MS = 15_000;
const AUDIT_SHOWN_MS = 5_000;

export interface FaultControl {
  /** Makes `pool` fail (and records it, as make chaos does). */
  start(pool: 'blue' | 'green'): Promise<void>;
  /** Ends chaos on both pools. */
  stop(): Promise<void>;
}

export async function statusPageScreenshot(s: StackSettings, fault: FaultControl, file = SCREENSHOT_FILE, log = console.log): Promise<number> {
  // playwright-core only here: every other command starts without it.
  const { CHROMIUM, openPage } = await import('../stack/browser.js');
  if (!existsSync(CHROMIUM)) throw new Refusal(`no Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  const serving = servingPool(s);
  const backup = serving === 'blue' ? 'green' : 'blue';
  const url = `http://127.0.0.1:${s.WATCHER_HOST_PORT}/`;
  const view = await openPage(url).catch((err: Error) => {
    throw new Refusal(`cannot open the status page at ${url} (is the stack up? make up): ${err.message.split('\n')[0]}`);
  });
  const stopLoad = new AbortController();
  const load = openLoop({ origin: publicOrigin(s), path: '/version', rate: LOAD_PER_SECOND, durationMs: 10 * 60_000, until: stopLoad.signal });
  let faulted = false;
  try {
    log(`screenshot: waiting for ${url} to show ${serving} serving with nothing open`);
    await view.waitFor({ serving, incidents: '0' }, 60_000).catch(refuse('the stack is not healthy'));
    log(`screenshot: ${LOAD_PER_SECOND} requests/s through Nginx for ${BEFORE_MS / 1000} s, then ${serving} fails (as make chaos)`);
    await sleep(BEFORE_MS);
    await fault.start(serving);
    faulted = true;
    const shownMs = await view.waitFor({ serving: backup, incidents: '>0' }, SHOWN_WITHIN_MS).catch(refuse('no failover on the page'));
    // The audit trail's chaos row, read again at most once a second.
    await view.page.getByTestId('history-row').filter({ hasText: 'chaos_start' }).first().waitFor({ timeout: AUDIT_SHOWN_MS }).catch(() => undefined);
    await sleep(DURING_MS);
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
    if (faulted) await fault.stop().catch(() => undefined);
    stopLoad.abort();
    await load;
    await view.close();
  }
}

const refuse = (what: string) => (err: Error): never => {
  throw new Refusal(`${what}: ${err.message}`);
};
