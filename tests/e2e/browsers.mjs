// Thin adapters over playwright-core (Chromium) and puppeteer-core (Firefox
// ESR) so that every scenario runs unchanged in both. Each browser runs on a
// persistent profile directory: OPFS is durable only there, and restarting
// on the same profile is how recovery is tested.
import { execFileSync, spawn } from 'node:child_process';
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
    async newPage(url, { waitReady = true } = {}) {
      const page = await context.newPage();
      page.on('pageerror', (e) => console.log(`  [chromium page error] ${e.message}`));
      await page.goto(url);
      if (waitReady) await page.waitForFunction(() => window.ready === true);
      const wrapped = wrapPage(page, (fn, arg) => page.evaluate(fn, arg), () => page.close(), (fn, arg) => page.waitForFunction(fn, arg));
      // Storage quota of the page's origin, through the DevTools protocol.
      wrapped.setQuota = async (bytes) => {
        const cdp = await context.newCDPSession(page);
        await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(url).origin, quotaSize: bytes });
      };
      return wrapped;
    },
    async restart() {
      await context.close();
      await launch();
    },
    async kill() {
      killProfileProcesses(profile);
      await context.close().catch(() => {});
      await launch();
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
    async newPage(url, { waitReady = true } = {}) {
      const page = await browser.newPage();
      page.on('pageerror', (e) => console.log(`  [firefox page error] ${e.message}`));
      await page.goto(url);
      if (waitReady) await page.waitForFunction(() => window.ready === true);
      return wrapPage(page, (fn, arg) => page.evaluate(fn, arg), () => page.close(), (fn, arg) => page.waitForFunction(fn, {}, arg));
    },
    async restart() {
      await browser.close();
      await launch();
    },
    async kill() {
      browser.process()?.kill('SIGKILL');
      killProfileProcesses(profile);
      await browser.close().catch(() => {});
      await launch();
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
