// Static server for the demo: www/ at /, the package at /pkg/.
// Usage: node scripts/serve.mjs [--port N] [--dir DIR]
// (PORT env also works; 0 = any free port; --dir serves DIR alone at /,
// as the packaging test does with a built app.)
// Prints "listening on http://127.0.0.1:PORT/" once ready.
// /sw.js (the demo's service worker) is served with its cache version
// filled in; --e2e-hooks adds the endpoints the PWA tests drive (below).
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const argDir = process.argv.indexOf('--dir');
const mounts = argDir > 0 ? [['/', resolve(process.argv[argDir + 1])]] : [
  ['/pkg/', join(root, 'pkg')],
  // Peers for the browser benchmarks (scripts/bench-vector.mjs and
  // scripts/bench-peers.mjs install them into bench/).
  ['/bench-modules/', join(root, 'bench', 'node_modules')],
  // Blank pages the end-to-end tests drive, and the npm packages their
  // ORM pages import as ES modules through an import map (no bundler).
  ['/e2e/', join(root, 'tests', 'e2e', 'pages')],
  ['/node_modules/', join(root, 'node_modules')],
  ['/', join(root, 'www')],
];
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
};

async function resolveFile(urlPath) {
  for (const [prefix, dir] of mounts) {
    if (!urlPath.startsWith(prefix)) continue;
    const rel = normalize(decodeURIComponent(urlPath.slice(prefix.length)));
    const file = join(dir, rel);
    if (file !== dir && !file.startsWith(dir + sep)) return null; // no escaping the mount
    try {
      const s = await stat(file);
      return s.isDirectory() ? join(file, 'index.html') : file;
    } catch {
      return null;
    }
  }
  return null;
}

// The service worker's VERSION placeholder becomes a hash of sw.js and of
// every file in its PRECACHE list, computed per request: any change to a
// precached file makes the browser see a new service worker and update.
const e2eHooks = process.argv.includes('--e2e-hooks');
let swSalt = ''; // only ever set through the --e2e-hooks endpoint
async function serviceWorker(file) {
  const source = await readFile(file, 'utf8');
  const list = /const PRECACHE = \[([^\]]*)\]/.exec(source);
  const hash = createHash('sha256').update(source).update(swSalt);
  for (const [, url] of (list?.[1] ?? '').matchAll(/'([^']+)'/g)) {
    const f = await resolveFile(url);
    hash.update(`\0${url}\0`);
    if (f) hash.update(await readFile(f));
  }
  return source.replace('__NEURALDB_SW_VERSION__', hash.digest('hex').slice(0, 16));
}

// --e2e-hooks (tests/e2e/run.mjs only): GET /__e2e/sw-salt?salt=S mixes S
// into the service worker's version (a new version without editing files);
// GET /__e2e/offline?on=1 makes the server drop every other request's
// connection until ?on=0, so pages are really offline, whatever the
// browser's own offline emulation covers.
let offline = false;
function e2eHook(url, res) {
  if (url.pathname === '/__e2e/sw-salt') swSalt = url.searchParams.get('salt') ?? '';
  else if (url.pathname === '/__e2e/offline') offline = url.searchParams.get('on') === '1';
  else return false;
  res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('ok');
  return true;
}

const argPort = process.argv.indexOf('--port');
const port = Number(argPort > 0 ? process.argv[argPort + 1] : process.env.PORT ?? 8080);
const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const path = url.pathname;
  if (e2eHooks && path.startsWith('/__e2e/') && e2eHook(url, res)) return;
  if (e2eHooks && offline) {
    req.socket.destroy();
    return;
  }
  const file = await resolveFile(path);
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  try {
    // no-cache with a validator: the browser revalidates every load (edits
    // show at once) and reuses its cached copy on a 304, as production
    // servers allow; a 304 costs a stat, not reading and sending 4.7 MB of wasm.
    const generated = path === '/sw.js' && argDir < 0;
    const s = await stat(file);
    const body = generated ? await serviceWorker(file) : null;
    const etag = generated
      ? `"${createHash('sha1').update(body).digest('base64url')}"`
      : `"${s.size.toString(36)}-${s.mtimeMs.toString(36)}"`;
    // The benchmark pages (bench-vector, bench-peers) run cross-origin
    // isolated (COOP/COEP), so performance.now() has 5 µs resolution
    // instead of 100 µs: the pages, and everything they or their workers load.
    const isolated = path.startsWith('/bench-') || /\/bench-/.test(req.headers.referer ?? '');
    const fresh = req.headers['if-none-match'] === etag;
    const payload = fresh ? undefined : (body ?? (await readFile(file)));
    res.writeHead(fresh ? 304 : 200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      etag,
      ...(isolated && {
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
        'cross-origin-resource-policy': 'same-origin',
      }),
    });
    res.end(payload);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
