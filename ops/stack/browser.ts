// A real browser for the status page: Debian's Chromium, headless, driven by
// playwright-core (which downloads nothing); CHROMIUM_PATH points elsewhere.
// The end-to-end tests and `make screenshot` share it. Every console error
// and page error is kept, since a page that logs one is broken even when it
// looks right.
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// As root in a container-like sandbox: no user namespaces for Chromium's own
// sandbox; and no background connections, which this closed network refuses.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What the page puts on <body> for tests and scripts: data-serving, data-incidents. */
export interface PageState {
  serving?: string;
  incidents?: string;
}

export interface OpenPage {
  page: Page;
  /** <body>'s data attributes now. */
  state(): Promise<PageState>;
  /**
   * Resolves once every attribute in `want` has its value (`incidents: '>0'`
   * for any open incident), with how long it took; rejects after `timeoutMs`.
   */
  waitFor(want: { serving?: string; incidents?: string }, timeoutMs: number): Promise<number>;
  /** Console errors and uncaught page errors, in order. */
  errors: string[];
  /** The whole page as a PNG at `file`. */
  screenshot(file: string): Promise<string>;
  close(): Promise<void>;
}

export async function openPage(url: string): Promise<OpenPage> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
  await page.goto(url);
  // A string, not a function: it runs in the page, and this project's types have no DOM.
  const state = () => page.evaluate('({ ...document.body.dataset })') as Promise<PageState>;
  return {
    page,
    errors,
    state,
    // Polled from here: the page's Content-Security-Policy forbids the eval
    // that page.waitForFunction needs, and the policy is part of what is tested.
    waitFor: async (want, timeoutMs) => {
      const started = Date.now();
      const matches = (now: PageState) =>
        Object.entries(want).every(([key, value]) => {
          const actual = now[key as keyof PageState];
          return value === '>0' ? Number(actual) > 0 : actual === value;
        });
      for (;;) {
        const now = await state();
        if (matches(now)) return Date.now() - started;
        if (Date.now() - started > timeoutMs) {
          throw new Error(`page never showed ${JSON.stringify(want)} within ${timeoutMs} ms; it shows ${JSON.stringify(now)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    screenshot: async (file) => {
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: () => browser.close(),
  };
}
