// The lesson's outbox on the page: opened for the server's database at sign-in (what an earlier
// visit left is sent then), a status line saying what waits, and the "needs attention" list —
// each item the server refused, with its reason, to send again or give up.

import { Outbox } from '../client/outbox.js';
import { $, el, outbox, outboxEvents, say, server, setOutbox } from './page.js';

/** @param {'sent' | 'attention'} type @param {import('./page.js').OutboxEvent} detail */
const tell = (type, detail) => outboxEvents.dispatchEvent(new CustomEvent(type, { detail }));

/**
 * Opens the outbox of database `databaseId` (the one `GET /me/` named) and sends what it holds.
 * @param {string} databaseId
 */
export async function openOutbox(databaseId) {
  setOutbox(await Outbox.open({
    api: server,
    databaseId,
    onSent: (item, serverId) => { tell('sent', { item, serverId }); scheduleRender(); },
    onAttention: (item) => { tell('attention', { item, serverId: null }); scheduleRender(); },
    onBlocked: (problem) => say(`Nothing sent: ${problem.code}: ${problem.message}`),
  }));
  await render();
  outbox?.flush().then(render, () => {});
}

let rendering = false;
/** What waited at the last render: 'drained' when it reaches 0. */
let wasPending = 0;
/** Many items are answered at once: one render after them. */
function scheduleRender() {
  if (rendering) return;
  rendering = true;
  setTimeout(() => { rendering = false; render(); }, 50);
}

/** The status line and the "needs attention" list. */
export async function render() {
  const box = outbox;
  if (!box) return;
  const [pending, attention] = await Promise.all([box.pending(), box.attention()]);
  if (pending === 0 && wasPending > 0) outboxEvents.dispatchEvent(new Event('drained'));
  wasPending = pending;
  $('outbox-section').hidden = pending === 0 && attention.length === 0;
  const status = $('outbox-status');
  status.textContent = pending ? `${pending} ${pending === 1 ? 'item waits' : 'items wait'} to be sent (kept in this browser)` : 'Everything was sent.';
  status.dataset.pending = String(pending);
  const list = el('ul', undefined, { id: 'attention', className: 'attention' });
  for (const item of attention) {
    const what = item.kind === 'vector' ? `the vector of crop ${item.cropId ?? '(new)'}` : item.kind === 'crop'
      ? `the face ${/** @type {{query: Record<string, string>}} */ (item.payload).query.filename}`
      : `the photo ${/** @type {{filename: string}} */ (item.payload).filename}`;
    const retry = el('button', 'Send again', { className: 'small', type: 'button' });
    retry.addEventListener('click', () => box.retry(item.id).then(render, () => {}));
    const dismiss = el('button', 'Give up', { className: 'small secondary', type: 'button' });
    dismiss.addEventListener('click', () => box.dismiss(item.id).then(render, () => {}));
    list.append(el('li', undefined, { 'data-kind': item.kind }));
    /** @type {HTMLElement} */ (list.lastElementChild).append(
      el('span', `${what}: ${item.problem?.code}: ${item.problem?.message}`, { className: 'problem' }), retry, dismiss);
  }
  $('attention').replaceWith(list);
}
