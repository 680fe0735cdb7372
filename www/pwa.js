// Registers the service worker (sw.js) and runs the update flow: when a new
// version has installed and waits, a banner offers to reload; its button
// tells the waiting worker to take over (SKIP_WAITING) and the page
// reloads when the controller changes. Used by index.html and notes.html.
//
// window.pwa: { registration, version() } for the page and the tests;
// version() asks the controlling worker for its cache version.

let reloading = false;

function banner(text, onReload) {
  let el = document.getElementById('update-banner');
  if (!el) {
    el = document.createElement('div');
    el.id = 'update-banner';
    el.setAttribute('role', 'status');
    el.innerHTML = '<span></span> <button id="update-reload" type="button">Reload</button>';
    document.body.prepend(el);
  }
  el.querySelector('span').textContent = text;
  el.querySelector('button').onclick = onReload;
  el.hidden = false;
}

/** The controlling worker's version, or null when the page is not controlled (or it does not answer). */
export function version() {
  const sw = navigator.serviceWorker?.controller;
  if (!sw) return Promise.resolve(null);
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = (e) => resolve(e.data.version);
    setTimeout(() => resolve(null), 3000); // a worker that does not answer
    sw.postMessage({ type: 'GET_VERSION' }, [port2]);
  });
}

async function showVersion() {
  const el = document.getElementById('sw-version');
  if (!el) return;
  const v = await version();
  el.textContent = v ? `offline-ready · version ${v}` : 'not offline-ready (no service worker)';
  el.dataset.version = v ?? '';
}

export async function registerServiceWorker() {
  window.pwa = { registration: null, version };
  if (!('serviceWorker' in navigator)) {
    showVersion();
    return null;
  }
  const hadController = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // The first install claims the page: nothing to reload for. A version
    // taking over because another tab asked for it: offer the reload here.
    if (reloading) location.reload();
    else if (hadController) banner('A new version is active —', () => location.reload());
    showVersion();
  });
  const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  window.pwa.registration = registration;
  const offer = () => {
    if (!registration.waiting || !navigator.serviceWorker.controller) return;
    banner('New version available —', () => {
      reloading = true;
      if (registration.waiting) registration.waiting.postMessage({ type: 'SKIP_WAITING' });
      else location.reload(); // already activated by another tab
    });
  };
  offer();
  registration.addEventListener('updatefound', () => {
    const next = registration.installing;
    next?.addEventListener('statechange', () => {
      if (next.state === 'installed') offer();
    });
  });
  showVersion();
  return registration;
}
