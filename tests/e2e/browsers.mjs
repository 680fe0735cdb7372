// Thin adapters over playwright-core (Chromium) and puppeteer-core (Firefox
// ESR) so that every scenario runs unchanged in both. Each browser runs on a
// persistent profile directory: OPFS is durable only there, and restarting
// on the same profile is how recovery is tested.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const serveScript = fileURLToPath(new URL('../../scripts/serve.mjs', import.meta.url));

/**
 * Starts scripts/serve.mjs on a free port (extra arguments such as
 * `--dir DIR` are passed on); resolves to `{ url, stop }`.
 */
export function startServer(...args) {
  const child = spawn(process.execPath, [serveScript, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      const m = /listening on (\S+)/.exec(String(d));
      if (m) resolve({ url: m[1], stop: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Kills every process whose command line mentions the profile directory. */
function killProfileProcesses(profile) {
  try {
    execFileSync('pkill', ['-KILL', '-f', profile]);
  } catch {
    // pkill exits 1 when nothing matched.
  }
}

function profileProcessesRunning(profile) {
  try {
    execFileSync('pgrep', ['-f', profile], { stdio: 'ignore' });
    return true;
  } catch {
    return false; // pgrep exits 1 when nothing matched.
  }
}

/** Polls `cond` every 25 ms until it holds; throws after `ms`. */
async function waitUntil(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Kills the browser on `profile` and waits until it is gone: no process
 * runs on the profile any more, and (`settled`) whatever the driver does to
 * the profile after its browser exits is done. Only then may the next
 * launch prepare the profile.
 */
async function killAndSettle(profile, proc, settled) {
  const exited = proc && proc.exitCode === null && proc.signalCode === null
    ? new Promise((r) => proc.once('exit', r))
    : Promise.resolve();
  proc?.kill('SIGKILL');
  killProfileProcesses(profile);
  await exited;
  await waitUntil(() => !profileProcessesRunning(profile), 10000, `the processes on ${profile} to exit`);
  // A restore that failed leaves its backup behind for good; the next
  // launch copes with that (it backs the file up again), so go on.
  await waitUntil(settled, 10000, `the driver to restore ${profile}`).catch((e) => console.log(`  [${e.message}]`));
}

/**
 * Launches with `launch`, retrying the launch itself (never a test's
 * assertion) when the driver's profile preparation fails with a transient
 * file error.
 */
async function launchWithRetry(launch) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch();
    } catch (e) {
      if (attempt >= 3 || !/ENOENT|EEXIST|EBUSY/.test(String(e?.message ?? e))) throw e;
      console.log(`  [relaunch attempt ${attempt} failed: ${e.message}; retrying]`);
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

export async function chromium(profile) {
  const { chromium: pw } = await import('playwright-core');
  let context;
  const launch = async () => {
    context = await pw.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
    });
  };
  await launch();
  return {
    name: 'chromium',
    /** Opens url in a new page; beforeGoto(raw page) runs first, e.g. to watch its requests from the start. */
    async newPage(url, { waitReady = true, beforeGoto } = {}) {
      const page = await context.newPage();
      page.on('pageerror', (e) => console.log(`  [chromium page error] ${e.message}`));
      await beforeGoto?.(page);
      await page.goto(url);
      if (waitReady) await page.waitForFunction(() => window.ready === true);
      const wrapped = wrapPage(page, (fn, arg) => page.evaluate(fn, arg), () => page.close(), (fn, arg) => page.waitForFunction(fn, arg));
      // Storage quota of the page's origin, through the DevTools protocol.
      wrapped.setQuota = async (bytes) => {
        const cdp = await context.newCDPSession(page);
        await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(url).origin, quotaSize: bytes });
      };
      /** A DevTools protocol session on this page (Chromium only). */
      wrapped.cdp = () => context.newCDPSession(page);
      return wrapped;
    },
    /** Network emulation of every page of the context: offline or not. */
    async setOffline(offline) {
      await context.setOffline(offline);
      return true;
    },
    async restart() {
      await context.close();
      await launch();
    },
    async kill() {
      // Playwright keeps no handle on the browser process of a persistent
      // context; it is found by the profile path in its command line.
      await killAndSettle(profile, null, () => true);
      await context.close().catch(() => {});
      await launchWithRetry(launch);
    },
    async close() {
      await context.close();
    },
  };
}

export async function firefox(profile) {
  const puppeteer = (await import('puppeteer-core')).default;
  let browser;
  const launch = async () => {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: '/usr/bin/firefox-esr',
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: {
        // Keep a headless test browser off the network.
        'network.connectivity-service.enabled': false,
        'app.update.enabled': false,
        'browser.safebrowsing.malware.enabled': false,
        'browser.safebrowsing.phishing.enabled': false,
      },
    });
  };
  await launch();
  return {
    name: 'firefox',
    /** As for Chromium. */
    async newPage(url, { waitReady = true, beforeGoto } = {}) {
      const page = await browser.newPage();
      page.on('pageerror', (e) => console.log(`  [firefox page error] ${e.message}`));
      await beforeGoto?.(page);
      await page.goto(url);
      if (waitReady) await page.waitForFunction(() => window.ready === true);
      return wrapPage(page, (fn, arg) => page.evaluate(fn, arg), () => page.close(), (fn, arg) => page.waitForFunction(fn, {}, arg));
    },
    /**
     * Offline emulation of the open pages, where puppeteer's Firefox
     * (WebDriver BiDi) supports it; resolves to false when it does not.
     */
    async setOffline(offline) {
      try {
        for (const page of await browser.pages()) await page.setOfflineMode(offline);
        return true;
      } catch {
        return false;
      }
    },
    async restart() {
      await browser.close();
      await launch();
    },
    async kill() {
      // puppeteer backs up the profile's user.js and prefs.js as
      // *.puppeteer when it launches and restores them once the browser has
      // exited, asynchronously; a relaunch that prepares the profile while
      // that restore runs fails (ENOENT on user.js). So wait for it.
      const backups = ['user.js.puppeteer', 'prefs.js.puppeteer'].map((f) => join(profile, f));
      await killAndSettle(profile, browser.process(), () => backups.every((f) => !existsSync(f)));
      await browser.close().catch(() => {});
      await launchWithRetry(launch);
    },
    async close() {
      await browser.close();
    },
  };
}

function wrapPage(page, evaluate, close, waitFor) {
  return {
    raw: page,
    /** Runs fn(arg) in the page; fn must be self-contained. */
    eval: evaluate,
    /** Waits until fn(arg) is truthy in the page. */
    waitFor,
    close,
  };
}
