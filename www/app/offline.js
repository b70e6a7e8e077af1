// The page without a network: its service worker (www/app/sw.js) keeps the page and the builds,
// and this tab remembers which database its server is — keyed by a hash of the token, never the
// token itself — so that the outbox opens and the lesson's faces are queued while the server is
// out of reach.

const PREFIX = 'facenet-database:';

/** Registers the service worker (where the browser has one: not on plain-HTTP school servers). */
export function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js').catch((e) => console.warn('facenet-wasm: no offline use:', e));
}

/** @param {string} token */
async function keyOf(token) {
  if (!crypto.subtle) return null; // not a secure context: nothing remembered, nothing offline
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${location.origin} ${token}`));
  return PREFIX + Array.from(new Uint8Array(digest).subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {string} token @param {string} databaseId */
export async function rememberDatabase(token, databaseId) {
  const key = await keyOf(token);
  if (key) localStorage.setItem(key, databaseId);
}

/** @param {string} token @returns {Promise<string | null>} */
export async function rememberedDatabase(token) {
  const key = await keyOf(token);
  return key ? localStorage.getItem(key) : null;
}
