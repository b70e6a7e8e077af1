// The school around the lesson: who is signed in, their classes, a class's roster (add pupils,
// fix names and school numbers), its history (pupils × lessons from finalised registers, CSV),
// and for an admin the accounts and classes. The lesson itself is app.js's.

import { rememberDatabase, rememberedDatabase } from './offline.js';
import { openOutbox } from './outbox-view.js';
import { $, api, download, el, recordConsent, say, sayError, send, tokenInput } from './page.js';

/**
 * @typedef {{id: number | null, name: string, admin: boolean, class_ids: number[], database_id: string}} Me
 * @typedef {{id: number, name: string, teacher_ids: number[], pupils: number, sessions: number}} SchoolClass
 * @typedef {{person_id: number, name: string, external_id: string | null, crops: number, class_ids: number[], consent: string,
 *   reenrol_by: string | null, reenrol_due: boolean}} Pupil
 */

const classSelect = /** @type {HTMLSelectElement} */ ($('class-select'));

export const school = {
  /** @type {Me | null} */ me: null,
  /** Whether the server was out of reach at sign-in (the lesson is queued on this device). */
  offline: false,
  /** @type {SchoolClass[]} */ classes: [],
  /** @type {Pupil[]} */ roster: [],
  /** The selected class, or null. */
  /** @type {number | null} */ classId: null,
  /** Called when the class changes (app.js lists its sessions). */
  /** @type {() => void} */ onClass: () => {},
};

/** Who the token is; their classes; the admin's tools when they are one. */
export async function signIn() {
  try {
    // Without a network there is nothing to wait for: one try, then the device's copy.
    school.me = /** @type {Me} */ (await api('ME', [], { retries: navigator.onLine ? undefined : 1 }));
  } catch (e) {
    school.me = null;
    $('who').textContent = '';
    // No server: with a database this token reached before, the lesson is taken offline.
    const known = /** @type {{transient?: boolean}} */ (e).transient ? await rememberedDatabase(tokenInput.value) : null;
    if (known) {
      school.offline = true;
      $('who').textContent = 'Offline: photos are kept on this device and sent when the server answers';
      await openOutbox(known);
      return;
    }
    sayError(e, 'Sign in');
    return;
  }
  school.offline = false;
  $('who').textContent = `Signed in as ${school.me.name} (${school.me.admin ? 'admin' : 'teacher'})`;
  await rememberDatabase(tokenInput.value, school.me.database_id);
  await openOutbox(school.me.database_id);
  $('admin-section').hidden = !school.me.admin;
  await loadClasses();
  if (school.me.admin) await loadAdmin();
}

export async function loadClasses() {
  school.classes = await api('CLASSES');
  const keep = school.classId;
  classSelect.replaceChildren(new Option('—', ''), ...school.classes.map((c) => new Option(`${c.name} (${c.pupils} pupils)`, String(c.id))));
  // One class: it is the one (a teacher's usual case).
  const pick = keep ?? (school.classes.length === 1 ? school.classes[0].id : null);
  if (pick !== null && school.classes.some((c) => c.id === pick)) await selectClass(pick);
}

/** @param {number | null} id */
export async function selectClass(id) {
  school.classId = id;
  classSelect.value = id === null ? '' : String(id);
  $('roster-section').hidden = id === null;
  $('history-section').hidden = id === null;
  $('history').replaceChildren();
  if (id !== null) await loadRoster();
  school.onClass();
}

export async function loadRoster() {
  if (school.classId === null) return;
  school.roster = await api('CLASS_PUPILS', [school.classId]);
  const list = el('ul', undefined, { id: 'roster', className: 'roster' });
  for (const p of school.roster) {
    const li = el('li', undefined, { 'data-person': String(p.person_id) });
    const name = el('input', undefined, { 'aria-label': `name of ${p.name}`, className: 'pupil-name' });
    name.value = p.name;
    const ext = el('input', undefined, { 'aria-label': `school number of ${p.name}`, placeholder: 'school number', className: 'pupil-ext' });
    ext.value = p.external_id ?? '';
    const save = el('button', 'Save', { className: 'small', type: 'button' });
    save.addEventListener('click', async () => {
      try {
        await send('PATCH', 'PERSON', [p.person_id], { name: name.value, external_id: ext.value });
        say(`Saved ${name.value}.`);
        await loadRoster();
      } catch (e) {
        sayError(e, p.name);
      }
    });
    li.append(name, ext, el('span', `${p.crops} reference ${p.crops === 1 ? 'face' : 'faces'}`, { className: 'muted' }), save,
      el('span', p.consent.replace('_', ' '), { className: 'consent', 'data-consent': p.consent }), consentSelect(p), ...adminActions(p));
    // Reference faces are erased when they reach the schedule's maximum age: ask ahead.
    if (p.reenrol_due) {
      li.append(el('span', `enrol again by ${p.reenrol_by}: take a new reference face`, {
        className: 'reenrol', title: 'Their oldest reference face is erased on that day (the retention schedule); without one they are marked by hand only.',
      }));
    }
    list.append(li);
  }
  $('roster').replaceWith(list);
  // The names the register's "This is …" fields suggest.
  $('pupil-names').replaceChildren(...school.roster.map((p) => new Option(p.name)));
}

/**
 * Records what a consent form says: given, refused or withdrawn, by a guardian or the pupil
 * (anything but given erases the pupil's faces at once).
 * @param {Pupil} p
 */
function consentSelect(p) {
  const select = el('select', undefined, { 'aria-label': `consent of ${p.name}`, className: 'consent-change' });
  select.append(new Option('record consent…', ''), ...['given', 'refused', 'withdrawn'].flatMap((state) =>
    ['guardian', 'pupil'].map((by) => new Option(`${state} by ${by === 'guardian' ? 'a guardian' : 'the pupil'}`, `${state}:${by}`))));
  select.addEventListener('change', async () => {
    const [state, by] = select.value.split(':');
    if (!state) return;
    if (state !== 'given' && !confirm(`Record "${state}" for ${p.name}? Their enrolment faces are erased at once.`)) {
      select.value = '';
      return;
    }
    try {
      const answer = await recordConsent(p.person_id, state, by);
      say(`${p.name}: consent ${answer.consent.replace('_', ' ')}.`);
      await loadRoster();
    } catch (e) {
      sayError(e, p.name);
    }
  });
  return select;
}

/**
 * An admin's actions on a pupil: export everything held about them (an access request), erase them.
 * @param {Pupil} p
 */
function adminActions(p) {
  if (!school.me?.admin) return [];
  const exportButton = el('button', 'Export', { className: 'small secondary', type: 'button' });
  exportButton.addEventListener('click', () => download('PERSON_EXPORT', [p.person_id], `pupil-${p.person_id}.zip`));
  const erase = el('button', 'Erase', { className: 'small danger', type: 'button' });
  erase.addEventListener('click', async () => {
    if (!confirm(`Erase ${p.name}: their faces, vectors and roster places? Finalised attendance marks are kept as the school's record.`)) return;
    try {
      const answer = await api('PERSON', [p.person_id], { method: 'DELETE' });
      // The roster first: the message says it is done when the page shows it done.
      await loadRoster();
      say(`${p.name} erased (${answer.crops} ${answer.crops === 1 ? 'face' : 'faces'}).`);
    } catch (e) {
      sayError(e, p.name);
    }
  });
  return [exportButton, erase];
}

$('new-pupil').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = /** @type {HTMLInputElement} */ ($('pupil-name'));
  const ext = /** @type {HTMLInputElement} */ ($('pupil-ext'));
  try {
    await send('POST', 'CLASS_PUPILS', [school.classId], { name: name.value, ...(ext.value ? { external_id: ext.value } : {}) });
    name.value = '';
    ext.value = '';
    await loadRoster();
  } catch (e) {
    sayError(e);
  }
});

/** The history's range as the report calls take it: `{from, to}`, each only when set. */
function historyRange() {
  const from = /** @type {HTMLInputElement} */ ($('history-from')).value;
  const to = /** @type {HTMLInputElement} */ ($('history-to')).value;
  return { from: from || undefined, to: to || undefined };
}

/** The class's attendance over the range: pupils × lessons, from finalised registers. */
async function showHistory() {
  try {
    const report = await api('CLASS_ATTENDANCE', [school.classId], { query: historyRange() });
    const table = el('table', undefined, { id: 'history-table' });
    const head = el('tr');
    head.append(el('th', 'Pupil'));
    for (const l of report.lessons) head.append(el('th', `${l.starts_at.slice(0, 16)} ${l.name}${l.finalized ? '' : ' (not finalised)'}`, { className: l.finalized ? '' : 'pending' }));
    head.append(el('th', 'Rate'));
    table.append(head);
    for (const p of report.pupils) {
      const row = el('tr', undefined, { 'data-person': String(p.person_id) });
      row.append(el('td', p.name));
      for (const m of p.marks) row.append(el('td', m ?? '·', { className: m ?? 'none' }));
      row.append(el('td', p.counts.rate === null ? '—' : `${Math.round(p.counts.rate * 100)} %`));
      table.append(row);
    }
    $('history').replaceChildren(table);
  } catch (e) {
    sayError(e, 'History');
  }
}
$('show-history').addEventListener('click', showHistory);
$('history-csv').addEventListener('click', () => download('CLASS_ATTENDANCE_CSV', [school.classId], `class-${school.classId}-attendance.csv`, historyRange()));
classSelect.addEventListener('change', () => selectClass(classSelect.value ? Number(classSelect.value) : null));

// ---- an admin's tools ----------------------------------------------------------------------

async function loadAdmin() {
  try {
    const users = await api('USERS');
    $('users').replaceChildren(...users.map((/** @type {{id: number, name: string, admin: boolean, tokens: number, class_ids: number[]}} */ u) =>
      el('li', `${u.name} — ${u.admin ? 'admin' : 'teacher'}, ${u.tokens} working ${u.tokens === 1 ? 'token' : 'tokens'}, ${u.class_ids.length} classes`, { 'data-user': String(u.id) })));
    const teachers = /** @type {HTMLSelectElement} */ ($('class-teachers'));
    teachers.replaceChildren(...users.filter((/** @type {{admin: boolean}} */ u) => !u.admin).map((/** @type {{id: number, name: string}} */ u) => new Option(u.name, String(u.id))));
    $('admin-classes').replaceChildren(...school.classes.map((c) => {
      const names = c.teacher_ids.map((id) => users.find((/** @type {{id: number}} */ u) => u.id === id)?.name ?? `#${id}`);
      return el('li', `${c.name} — ${names.join(', ') || 'no teacher'}; ${c.pupils} pupils, ${c.sessions} lessons`);
    }));
  } catch (e) {
    sayError(e, 'Accounts');
  }
}

$('new-user').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = /** @type {HTMLInputElement} */ ($('user-name'));
  const admin = /** @type {HTMLInputElement} */ ($('user-admin'));
  try {
    const created = await send('POST', 'USERS', [], { name: name.value, admin: admin.checked });
    // Shown this once: the server keeps only its hash.
    $('new-token').textContent = `Token for ${created.name} (shown once, give it to them): ${created.token}`;
    name.value = '';
    admin.checked = false;
    await loadAdmin();
  } catch (e) {
    sayError(e);
  }
});

$('new-class').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = /** @type {HTMLInputElement} */ ($('class-name'));
  const teachers = /** @type {HTMLSelectElement} */ ($('class-teachers'));
  try {
    await send('POST', 'CLASSES', [], { name: name.value, teacher_ids: [...teachers.selectedOptions].map((o) => Number(o.value)) });
    name.value = '';
    await loadClasses();
    await loadAdmin();
  } catch (e) {
    sayError(e);
  }
});
