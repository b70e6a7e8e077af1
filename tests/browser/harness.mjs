// Headless Debian Chromium through playwright-core, as this machine allows (no downloads).
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
  // performance.memory with real figures, and gc() to measure after a collection
  '--enable-precise-memory-info', '--js-flags=--expose-gc',
];

/** A persistent profile when `userDataDir` is given (the Cache API survives a page reload). */
export async function launch(userDataDir) {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (userDataDir) {
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath, args: CHROMIUM_ARGS, headless: true });
    return { context, close: () => context.close() };
  }
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
  const context = await browser.newContext();
  return { context, close: () => browser.close() };
}

/** Opens the blank test page and forwards its console to the test output. */
export async function openPage(context, url) {
  const page = await context.newPage();
  page.on('console', (msg) => {
    // The browser logs every 4xx/5xx the tests provoke on purpose; keep the rest.
    if ((msg.type() === 'error' || msg.type() === 'warning') && !msg.text().startsWith('Failed to load resource')) console.log(`[page ${msg.type()}] ${msg.text()}`);
  });
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto(url);
  return page;
}
