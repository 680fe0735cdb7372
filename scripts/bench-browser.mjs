// Runs www/bench.html in headless Chromium (persistent profile, so OPFS is
// on disk) and prints the figures. Usage: node scripts/bench-browser.mjs [N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, startServer } from '../tests/e2e/browsers.mjs';

const n = Number(process.argv[2] ?? 1000);
const server = await startServer();
const url = server.url;
const profile = mkdtempSync(join(tmpdir(), 'neuraldb-bench-'));
const browser = await chromium(profile);
try {
  const page = await browser.newPage(`${url}bench.html?auto&n=${n}`, { waitReady: false });
  await page.raw.waitForFunction(() => window.benchResult, null, { timeout: 300_000 });
  console.log(await page.raw.evaluate(() => document.getElementById('out').textContent));
} finally {
  await browser.close();
  server.stop();
  rmSync(profile, { recursive: true, force: true });
}
