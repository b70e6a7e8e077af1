// One harness, three engines, all Debian's (no downloaded browser builds):
//
//   chromium  /usr/bin/chromium through playwright-core (CDP)
//   firefox   /usr/bin/firefox-esr through puppeteer-core over WebDriver BiDi
//   webkit    WebKitGTK's MiniBrowser (Safari's engine, JavaScriptCore) through WebKitWebDriver,
//             W3C WebDriver over plain HTTP, under xvfb-run
//
// Each driver gives a browser of tabs and a tab's few primitives (evaluate an expression, navigate,
// reload, press a key on the focused element, screenshot, close); `Page` and `Locator` build on
// them the small part of Playwright's page and locator API the tests use, as DOM scripts, so
// every engine runs the same test code and the same element logic. Keys are real key events
// from the driver (an Enter submits a form the way a keyboard does); clicks, typing into a field
// and choosing an option are the DOM's own (`click()`, `value` + `input`/`change` events), as a
// page's handlers see them. The benchmarks (benches/) open their pages the same way.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename } from 'node:path';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';

export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
  // performance.memory with real figures, and gc() to measure after a collection
  '--enable-precise-memory-info', '--js-flags=--expose-gc',
];

/** The engines the browser tests run on: `FACENET_ENGINES=chromium,firefox,webkit` (the default). */
export const ENGINES = (process.env.FACENET_ENGINES ?? 'chromium,firefox,webkit').split(',').filter(Boolean);

/**
 * What each engine can run, as seen on this machine's Debian builds (Chromium 156, Firefox ESR
 * 153, WebKitGTK 2.50): what the tests expect of it, and the README's support table. WebKitGTK
 * validates no relaxed SIMD and has no `SharedArrayBuffer` even when cross-origin isolated, so
 * the threaded build (relaxed SIMD + atomics) cannot run there; and its storage under WebDriver
 * is memory only (as in Safari's private windows): the Cache API's is gone after a reload.
 * `cutsNetwork`: whether the engine's driver can take the browser offline (W3C WebDriver has no
 * command for it; the driver gives `setOffline` where it can).
 * @type {Record<string, { relaxedSimd: boolean, threads: boolean, storageSurvivesReload: boolean, cutsNetwork: boolean }>}
 */
export const CAN = {
  chromium: { relaxedSimd: true, threads: true, storageSurvivesReload: true, cutsNetwork: true },
  firefox: { relaxedSimd: true, threads: true, storageSurvivesReload: true, cutsNetwork: true },
  webkit: { relaxedSimd: false, threads: false, storageSurvivesReload: false, cutsNetwork: false },
};

/** The MiniBrowser WebKitWebDriver starts (webkit2gtk-4.1, Debian's path). */
const MINIBROWSER = process.env.MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/**
 * A tab, as a driver gives it to `Page`.
 * @typedef {object} Tab
 * @property {(expression: string) => Promise<any>} evaluate the expression's value in the page (a promise is awaited); JSON-like values only
 * @property {(url: string) => Promise<void>} goto
 * @property {() => Promise<void>} reload
 * @property {(key: 'Enter' | 'Tab' | 'Escape') => Promise<void>} press a key on the focused element
 * @property {(path: string) => Promise<void>} screenshot the page as PNG
 * @property {() => Promise<void>} close
 */

/**
 * A browser, as a driver starts it.
 * @typedef {object} Driver
 * @property {string} version the engine and its version, e.g. `firefox/153.8.0`
 * @property {() => Promise<Tab>} newTab a tab of its own (its own sessionStorage), the same profile
 * @property {() => Promise<void>} close
 * @property {(offline: boolean) => Promise<void>} [setOffline] where the driver can cut the network
 */

/**
 * A fresh headless browser of `engine`; its tabs share one profile (the Cache API, IndexedDB).
 * @param {string} engine 'chromium', 'firefox' or 'webkit'
 * @param {{ profile?: string }} [options] `profile`: a persistent Chromium profile folder
 *   (Chromium's in-memory profiles refuse a model's worth of Cache API storage)
 * @returns {Promise<Browser>}
 */
export async function launchEngine(engine, options = {}) {
  const open = DRIVERS[engine];
  if (!open) throw new Error(`no driver for the engine ${JSON.stringify(engine)} (known: ${Object.keys(DRIVERS).join(', ')})`);
  return new Browser(engine, await open(options));
}

/**
 * `url` open in a fresh headless browser of `engine`, its only page; closing the page closes the
 * browser.
 * @param {string} engine
 * @param {string} url
 * @param {{ profile?: string }} [options]
 * @returns {Promise<Page>}
 */
export async function enginePage(engine, url, options = {}) {
  const browser = await launchEngine(engine, options);
  try {
    const page = await browser.newPage(url);
    page.close = () => browser.close();
    return page;
  } catch (e) {
    await browser.close();
    throw e;
  }
}

/** A browser of one engine: pages in tabs of their own. */
export class Browser {
  /** @param {string} engine @param {Driver} driver */
  constructor(engine, driver) {
    this.engine = engine;
    this.driver = driver;
    this.version = driver.version;
  }

  /** @param {string} url */
  async newPage(url) {
    const page = new Page(this, await this.driver.newTab());
    await page.goto(url);
    return page;
  }

  /** @param {boolean} offline */
  async setOffline(offline) {
    if (!this.driver.setOffline) throw new Error(`${this.version}: the driver cannot cut the network`);
    await this.driver.setOffline(offline);
  }

  close() { return this.driver.close(); }
}

/**
 * A Playwright or Puppeteer page as a Tab (their methods the tabs use are alike), its console
 * forwarded.
 * @param {any} page
 * @returns {Tab}
 */
function pageTab(page) {
  page.on('console', (/** @type {any} */ msg) => forward(msg.type() === 'warn' ? 'warning' : msg.type(), msg.text()));
  page.on('pageerror', (/** @type {unknown} */ e) => console.log(`[page error] ${e instanceof Error ? e.message : e}`));
  return {
    evaluate: (expression) => page.evaluate(expression),
    goto: async (url) => { await page.goto(url); },
    reload: async () => { await page.reload(); },
    press: (key) => page.keyboard.press(key),
    screenshot: async (path) => { await page.screenshot({ path, fullPage: true }); },
    close: () => page.close(),
  };
}

/** @type {Record<string, (options: { profile?: string }) => Promise<Driver>>} */
const DRIVERS = {
  async chromium({ profile }) {
    const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
    const browser = profile ? null : await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
    const context = browser ? await browser.newContext() : await chromium.launchPersistentContext(/** @type {string} */ (profile), { executablePath, args: CHROMIUM_ARGS, headless: true });
    // A persistent context has no Browser object: its version from CDP (the UA says 156.0.0.0).
    const version = browser ? browser.version()
      : (await (await context.newCDPSession(context.pages()[0])).send('Browser.getVersion')).product.replace(/^[^/]*\//, '');
    return {
      version: `chromium/${version}`,
      newTab: async () => pageTab(await context.newPage()),
      setOffline: (offline) => context.setOffline(offline),
      close: () => (browser ? browser.close() : context.close()),
    };
  },

  async firefox() {
    const executablePath = process.env.FIREFOX ?? '/usr/bin/firefox-esr';
    const browser = await puppeteer.launch({ browser: 'firefox', protocol: 'webDriverBiDi', executablePath, headless: true });
    /** @type {import('puppeteer-core').Page[]} */
    const pages = [];
    return {
      version: await browser.version(),
      newTab: async () => {
        const page = await browser.newPage();
        pages.push(page);
        return pageTab(page);
      },
      setOffline: async (offline) => { for (const page of pages) if (!page.isClosed()) await page.setOfflineMode(offline); },
      close: () => browser.close(),
    };
  },

  async webkit() {
    // A WebKitWebDriver per browser: it holds one session at a time.
    const port = await freePort();
    const child = spawn('xvfb-run', ['-a', 'WebKitWebDriver', `--port=${port}`], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d) => { stderr += d; });
    const kill = () => { try { process.kill(-(/** @type {number} */ (child.pid)), 'SIGTERM'); } catch { /* gone */ } };
    const base = `http://127.0.0.1:${port}`;
    /**
     * One WebDriver command: its `value`, or a thrown error naming the command.
     * @param {string} method @param {string} path @param {any} [body]
     */
    const command = async (method, path, body) => {
      const response = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const { value } = await response.json();
      if (!response.ok) throw new Error(`WebKitWebDriver ${method} ${path}: ${value?.error}: ${value?.message}`);
      return value;
    };
    try {
      for (let i = 0; ; i++) {
        try { if ((await command('GET', '/status')).ready) break; } catch { /* not listening yet */ }
        if (i === 100) throw new Error(`WebKitWebDriver did not start on port ${port}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const session = await command('POST', '/session', {
        capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } } },
      });
      const at = `/session/${session.sessionId}`;
      // Long scripts (a batch of photos) are the tests' own timeouts' business.
      await command('POST', `${at}/timeouts`, { script: 30 * 60 * 1000 });
      // WebDriver drives one window at a time: each tab's command switches to it first.
      let unused = /** @type {string | null} */ (await command('GET', `${at}/window`));
      let current = unused;
      /** @param {string} handle @param {string} method @param {string} path @param {any} [body] */
      const inTab = async (handle, method, path, body) => {
        if (current !== handle) { await command('POST', `${at}/window`, { handle }); current = handle; }
        return command(method, `${at}${path}`, body);
      };
      /** @type {Record<string, string>} */
      const KEYS = { Enter: '\uE007', Tab: '\uE004', Escape: '\uE00C' };
      return {
        version: `webkit/${session.capabilities.browserVersion}`,
        newTab: async () => {
          // The window the session opened with is the first tab.
          const handle = unused ?? (await command('POST', `${at}/window/new`, { type: 'tab' })).handle;
          unused = null;
          return {
            evaluate: async (expression) => {
              const outcome = await inTab(handle, 'POST', '/execute/async', {
                script: `const done = arguments[arguments.length - 1];
                  Promise.resolve().then(() => (${expression})).then((value) => done({ value }),
                    (e) => done({ error: e instanceof Error ? e.name + ': ' + e.message : Object.prototype.toString.call(e) + ' ' + String(e) }));`,
                args: [],
              });
              if (outcome.error !== undefined) throw new Error(`in the page: ${outcome.error}`);
              return outcome.value;
            },
            goto: async (url) => { await inTab(handle, 'POST', '/url', { url }); },
            reload: async () => { await inTab(handle, 'POST', '/refresh', {}); },
            press: async (key) => {
              await inTab(handle, 'POST', '/actions', {
                actions: [{ type: 'key', id: 'keyboard', actions: [{ type: 'keyDown', value: KEYS[key] }, { type: 'keyUp', value: KEYS[key] }] }],
              });
            },
            screenshot: async (path) => { writeFileSync(path, Buffer.from(await inTab(handle, 'GET', '/screenshot'), 'base64')); },
            close: async () => {
              // The session's last window stays (closing it would end the session), left blank.
              if ((await command('GET', `${at}/window/handles`)).length === 1) {
                await inTab(handle, 'POST', '/url', { url: 'about:blank' });
                unused = handle;
                return;
              }
              /** @type {string[]} */
              const left = await inTab(handle, 'DELETE', '/window');
              // WebDriver's next command needs a current window that is open.
              await command('POST', `${at}/window`, { handle: left[0] });
              current = left[0];
            },
          };
        },
        close: async () => {
          try { await command('DELETE', at); } finally { kill(); }
        },
      };
    } catch (e) {
      kill();
      throw e;
    }
  },
};

/** A port nothing listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (probe.address());
      probe.close(() => resolve(port));
    });
  });
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

/** `fn` (a function's source) called with `arg` (JSON), as an expression. */
const call = (fn, arg) => `(${fn})(${arg === undefined ? '' : JSON.stringify(arg)})`;

/** Content types of the files tests hand to an `<input type=file>`, by extension. */
const TYPES = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', md: 'text/markdown', txt: 'text/plain' };

/**
 * In the page: the elements a locator's steps select. Steps are `{ css, hasText }` (descendants
 * of each element so far matching `css`, whose text holds `hasText`) and `{ nth }` (the one at
 * that index; -1 the last). Defined once, sent with every locator call.
 */
const RESOLVE = `(steps) => steps.reduce((els, step) => {
  if ('nth' in step) { const el = step.nth < 0 ? els[els.length + step.nth] : els[step.nth]; return el ? [el] : []; }
  const found = els.flatMap((root) => [...root.querySelectorAll(step.css)]);
  return [...new Set(found)].filter((el) => step.hasText === undefined || (el.textContent ?? '').includes(step.hasText));
}, [document.documentElement])`;

/** In the page: whether an element is shown (Playwright's "visible": a box, not visibility:hidden). */
const VISIBLE = `(el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'`;

/** Playwright's page API, the part the browser tests use, over a `Driver`. */
export class Page {
  /** @param {Browser} browser @param {Tab} tab */
  constructor(browser, tab) {
    this.browser = browser;
    this.tab = tab;
    this.engine = browser.engine;
    this.version = browser.version;
  }

  /**
   * `fn`'s value in the page, called with `arg`; or an expression's (a string).
   * @param {string | Function} fn
   * @param {any} [arg]
   */
  evaluate(fn, arg) {
    return this.tab.evaluate(typeof fn === 'string' ? fn : call(fn, arg));
  }

  /** @param {string} url */
  goto(url) { return this.tab.goto(url); }

  /** What a teacher's reload does: the document's state is gone, the tab's sessionStorage kept. */
  reload() { return this.tab.reload(); }

  /**
   * Waits until `fn(arg)` is truthy in the page, polling every 100 ms.
   * @param {Function} fn
   * @param {any} [arg]
   * @param {{ timeout?: number }} [options] ms, 30 s unless given
   */
  async waitForFunction(fn, arg, { timeout = 30_000 } = {}) {
    const expression = call(fn, arg);
    const until = Date.now() + timeout;
    for (;;) {
      const value = await this.tab.evaluate(expression);
      if (value) return value;
      if (Date.now() > until) throw new Error(`${this.version}: timed out after ${timeout} ms waiting for ${String(fn).slice(0, 200)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** @param {string} css @param {{ hasText?: string }} [options] */
  locator(css, options = {}) { return new Locator(this, [{ css, hasText: options.hasText }]); }

  /** Where the page is and what it says in its alerts: for a timeout's message. */
  async situation() {
    try {
      return await this.tab.evaluate(`'at ' + location.href + '; alerts: ' + JSON.stringify([...document.querySelectorAll('[role=alert]')].map((e) => e.textContent).filter(Boolean))`);
    } catch (e) {
      return `the page does not answer: ${e instanceof Error ? e.message : e}`;
    }
  }

  /** @param {{ path: string }} options */
  screenshot({ path }) { return this.tab.screenshot(path); }

  /**
   * Until the next load, `confirm()` answers `answer` and keeps its message for `confirms()`
   * (drivers differ in how they meet a native dialog; the page's own call is what matters).
   * @param {boolean} answer
   */
  answerConfirms(answer) {
    return this.evaluate((answer) => {
      const asked = (/** @type {any} */ (window).__confirms ??= []);
      window.confirm = (message) => { asked.push(String(message)); return answer; };
    }, answer);
  }

  /** @returns {Promise<string[]>} the messages `confirm()` was called with since `answerConfirms` */
  confirms() { return this.evaluate(() => /** @type {any} */ (window).__confirms ?? []); }

  /**
   * Until the next load, a download the page starts (a link with `download` clicked) is caught,
   * not saved: `downloads()` gives each one's file name, size and first bytes.
   */
  catchDownloads() {
    return this.evaluate(() => {
      // The Blob behind each object URL, read directly: the page's CSP may refuse fetching blob:.
      const blobs = new Map();
      const createObjectURL = URL.createObjectURL;
      URL.createObjectURL = (object) => { const url = createObjectURL(object); blobs.set(url, object); return url; };
      const caught = (/** @type {any} */ (window).__downloads ??= []);
      const click = HTMLAnchorElement.prototype.click;
      HTMLAnchorElement.prototype.click = function () {
        if (!this.download) return click.call(this);
        const blob = blobs.get(this.href);
        caught.push((blob ? blob.arrayBuffer() : Promise.reject(new Error(`not an object URL: ${this.href}`)))
          .then((b) => ({ filename: this.download, size: b.byteLength, head: [...new Uint8Array(b.slice(0, 4))] })));
      };
    });
  }

  /** @returns {Promise<{ filename: string, size: number, head: number[] }[]>} */
  downloads() { return this.evaluate(() => Promise.all(/** @type {any} */ (window).__downloads ?? [])); }

  close() { return this.tab.close(); }
}

/** Playwright's locator, the part the tests use: resolved afresh by each call, in the page. */
export class Locator {
  /** @param {Page} page @param {object[]} steps */
  constructor(page, steps) {
    this.page = page;
    this.steps = steps;
  }

  /** @param {string} css @param {{ hasText?: string }} [options] */
  locator(css, options = {}) { return new Locator(this.page, [...this.steps, { css, hasText: options.hasText }]); }

  /** @param {number} index */
  nth(index) { return new Locator(this.page, [...this.steps, { nth: index }]); }

  first() { return this.nth(0); }

  last() { return this.nth(-1); }

  /**
   * `fn(elements, arg)` in the page, over every element the locator selects now.
   * @param {string} fn a function's source, `(els, arg) => …`
   * @param {any} [arg]
   */
  run(fn, arg) {
    return this.page.tab.evaluate(`(${fn})((${RESOLVE})(${JSON.stringify(this.steps)}), ${JSON.stringify(arg ?? null)})`);
  }

  /** What the steps say, for errors. */
  toString() {
    return this.steps.map((s) => ('nth' in s ? `nth=${s.nth}` : `${s.css}${s.hasText === undefined ? '' : ` hasText=${JSON.stringify(s.hasText)}`}`)).join(' >> ');
  }

  /**
   * Waits until the locator's (first) element is in `state`, polling every 100 ms.
   * @param {{ state?: 'visible' | 'hidden' | 'attached' | 'detached', timeout?: number }} [options]
   */
  async waitFor({ state = 'visible', timeout = 30_000 } = {}) {
    const until = Date.now() + timeout;
    for (;;) {
      const ok = await this.run(`(els, state) => {
        const el = els[0];
        if (state === 'attached') return !!el;
        if (state === 'detached') return !el;
        const shown = !!el && (${VISIBLE})(el);
        return state === 'visible' ? shown : !shown;
      }`, state);
      if (ok) return;
      if (Date.now() > until) throw new Error(`${this.page.version}: timed out after ${timeout} ms waiting for ${this} to be ${state}; ${await this.page.situation()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * The locator's one element, waited for (visible unless `state` says, enabled), given to
   * `fn(el, arg)` in the page.
   * @param {string} fn
   * @param {any} [arg]
   * @param {'visible' | 'attached'} [state]
   */
  async act(fn, arg, state = 'visible') {
    await this.waitFor({ state });
    const outcome = await this.run(`(els, arg) => {
      if (els.length !== 1) return { error: els.length + ' elements match' };
      if (els[0].disabled) return { error: 'the element is disabled' };
      return { value: (${fn})(els[0], arg) };
    }`, arg);
    if (outcome.error) throw new Error(`${this.page.version}: ${this}: ${outcome.error}`);
    return outcome.value;
  }

  click() { return this.act(`(el) => { el.click(); }`); }

  /** Types `value` into a field: focused, value set, `input` and `change` fired. @param {string} value */
  fill(value) {
    return this.act(`(el, value) => {
      el.focus();
      el.value = value;
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }`, value);
  }

  /** The driver's key on the element, focused first. @param {'Enter' | 'Tab' | 'Escape'} key */
  async press(key) {
    await this.act(`(el) => { el.focus(); }`);
    await this.page.tab.press(key);
  }

  /** Chooses the option of that value (or label), as a click on it would. @param {string} value */
  selectOption(value) {
    return this.act(`(el, value) => {
      const option = [...el.options].find((o) => o.value === value) ?? [...el.options].find((o) => o.label === value);
      if (!option) throw new Error('no option ' + value + ' in ' + [...el.options].map((o) => o.value));
      el.value = option.value;
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }`, value);
  }

  /**
   * Gives the file input these files, as choosing them in the file dialog would: the bytes
   * travel as base64 and become `File`s in the page (the page may be another origin's).
   * @param {string | string[]} paths
   */
  setInputFiles(paths) {
    const files = [paths].flat().map((path) => ({
      name: basename(path),
      type: TYPES[/** @type {keyof TYPES} */ (path.split('.').pop()?.toLowerCase() ?? '')] ?? 'application/octet-stream',
      base64: readFileSync(path).toString('base64'),
    }));
    return this.act(`(el, files) => {
      const transfer = new DataTransfer();
      for (const f of files) transfer.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
      el.files = transfer.files;
      el.dispatchEvent(new Event('input', { bubbles: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }`, files, 'attached');
  }

  async count() { return /** @type {number} */ (await this.run(`(els) => els.length`)); }

  /** @returns {Promise<string | null>} the first element's text, waited for */
  async textContent() {
    await this.waitFor({ state: 'attached' });
    return this.run(`(els) => els[0].textContent`);
  }

  /** @returns {Promise<string>} */
  async inputValue() {
    await this.waitFor({ state: 'attached' });
    return this.run(`(els) => els[0].value`);
  }

  /** @param {string} name @returns {Promise<string | null>} */
  async getAttribute(name) {
    await this.waitFor({ state: 'attached' });
    return this.run(`(els, name) => els[0].getAttribute(name)`, name);
  }

  /** @returns {Promise<string[]>} */
  allTextContents() { return this.run(`(els) => els.map((el) => el.textContent ?? '')`); }

  /** `fn(elements)` in the page. @param {Function} fn */
  evaluateAll(fn) { return this.run(String(fn)); }

  async isDisabled() {
    await this.waitFor({ state: 'attached' });
    return this.run(`(els) => !!els[0].disabled`);
  }

  /** Hidden: not there, or without a box. */
  isHidden() { return this.run(`(els) => !els[0] || !(${VISIBLE})(els[0])`); }
}
