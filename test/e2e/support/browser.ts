// A real browser for the status page: Debian's Chromium, headless, driven by
// playwright-core (which downloads nothing). `.ci/run` installs the package;
// CHROMIUM_PATH points elsewhere. Every console error and page error is kept,
// since a page that logs one is broken even when it looks right.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './stack.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');

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
  /** Writes test/artifacts/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openPage(url: string): Promise<OpenPage> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (as .ci/run does), or set CHROMIUM_PATH`);
  }
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
  await page.goto(url);
  mkdirSync(ARTIFACTS, { recursive: true });
  // Strings, not functions: they run in the page, and this project's types have no DOM.
  const state = () => page.evaluate('({ ...document.body.dataset })') as Promise<PageState>;
  return {
    page,
    errors,
    state,
    waitFor: async (want, timeoutMs) => {
      const checks = Object.entries(want).map(([key, value]) =>
        value === '>0' ? `Number(document.body.dataset.${key}) > 0` : `document.body.dataset.${key} === ${JSON.stringify(value)}`,
      );
      const started = Date.now();
      try {
        await page.waitForFunction(checks.join(' && '), undefined, { timeout: timeoutMs, polling: 50 });
      } catch (err) {
        throw new Error(`page never showed ${JSON.stringify(want)} within ${timeoutMs} ms; it shows ${JSON.stringify(await state())}`, {
          cause: err,
        });
      }
      return Date.now() - started;
    },
    screenshot: async (name) => {
      const file = path.join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: () => browser.close(),
  };
}
