// Headless Debian browsers, as this machine allows (no downloaded browser builds): Chromium
// through playwright-core for every test; Firefox ESR through puppeteer-core over WebDriver BiDi
// for the tests written against `enginePage`, which run on each engine of ENGINES.
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';

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
  return { context, close: () => browser.close(), version: `chromium/${browser.version()}` };
}

/** The engines engine-neutral tests run on (`FACENET_ENGINES=chromium,firefox`, the default). */
export const ENGINES = (process.env.FACENET_ENGINES ?? 'chromium,firefox').split(',').filter(Boolean);

/**
 * @typedef {object} EnginePage
 * @property {string} version the engine and its version, e.g. `firefox/153.8.0`
 * @property {(source: string) => Promise<any>} evaluate runs an expression (a promise is awaited) in the page
 * @property {() => Promise<void>} close
 */

/**
 * `url` open in a fresh headless `engine` ('chromium' or 'firefox'), its console forwarded, behind
 * the one call the engine-neutral tests use.
 * @param {string} engine
 * @param {string} url
 * @returns {Promise<EnginePage>}
 */
export async function enginePage(engine, url) {
  if (engine === 'chromium') {
    const browser = await launch();
    const page = await openPage(browser.context, url);
    return { version: browser.version, evaluate: (source) => page.evaluate(source), close: browser.close };
  }
  if (engine === 'firefox') {
    const executablePath = process.env.FIREFOX ?? '/usr/bin/firefox-esr';
    const browser = await puppeteer.launch({ browser: 'firefox', protocol: 'webDriverBiDi', executablePath, headless: true });
    const page = await browser.newPage();
    page.on('console', (msg) => forward(msg.type() === 'warn' ? 'warning' : msg.type(), msg.text()));
    page.on('pageerror', (e) => console.log(`[page error] ${e instanceof Error ? e.message : e}`));
    await page.goto(url);
    return { version: await browser.version(), evaluate: (source) => page.evaluate(source), close: () => browser.close() };
  }
  throw new Error(`no driver for the engine ${JSON.stringify(engine)} (known: chromium, firefox)`);
}

/** Opens the blank test page and forwards its console to the test output. */
export async function openPage(context, url) {
  const page = await context.newPage();
  page.on('console', (msg) => forward(msg.type(), msg.text()));
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto(url);
  return page;
}

/**
 * A page's console message to the test output: errors and warnings only, except the line the
 * browser logs for every 4xx/5xx the tests provoke on purpose.
 * @param {string} type `error`, `warning`, … (Playwright's names)
 * @param {string} text
 */
function forward(type, text) {
  if ((type === 'error' || type === 'warning') && !text.startsWith('Failed to load resource')) console.log(`[page ${type}] ${text}`);
}
