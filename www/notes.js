// Notes: a small offline-first app on NeuralDB. Notes (title, body, tags
// text[], created_at) with a toy 64-dimension embedding (embed.js) under an
// HNSW index for semantic search; every tab of the origin shares the
// database, and db.live pushes changes to all of them. The side panel polls
// pg_stat_activity and pg_locks (system views raise no change events).
// Editing a note holds its row lock (SELECT ... FOR UPDATE NOWAIT on a
// session of its own) until Save or Cancel, so two tabs cannot edit the
// same note at once, and the panel shows the lock.
import { NeuralDB } from '/pkg/index.js';
import { embed } from './embed.js';
import { registerServiceWorker } from './pwa.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const dbName = params.get('db') ?? 'notes';

registerServiceWorker().catch((e) => console.warn('service worker:', e));

const SCHEMA = [
  `CREATE TABLE notes (
     id serial PRIMARY KEY,
     title text NOT NULL,
     body text NOT NULL DEFAULT '',
     tags text[] NOT NULL DEFAULT '{}',
     created_at timestamptz NOT NULL DEFAULT now(),
     embedding vector(64))`,
  'CREATE INDEX notes_embedding_idx ON notes USING hnsw (embedding vector_cosine_ops)',
];

let db; // this tab's session: live queries and writes
let monitor; // the panel's polling session
let editor = null; // { session, id } while a note is being edited
const state = { tag: null, search: null, searchText: '' };

function status(text, error = false) {
  $('status').textContent = text;
  $('status').style.color = error ? '#b83a3a' : '';
}
const errorText = (e) => `${e.code ? `ERROR ${e.code}: ` : ''}${e.message}`;

/** The embedding of a note, or null when it has no words (cosine needs a non-zero vector). */
function noteEmbedding(title, body, tags) {
  const v = embed(`${title} ${title} ${body} ${tags.join(' ')}`);
  return v.some((x) => x !== 0) ? v : null;
}

const parseTags = (text) => [...new Set(text.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean))];

// ---- live queries (db.live when the package has it, else polling) ----

const pollers = new Set();
const hasLive = () => typeof db.live === 'function';

async function liveQuery(sql, args, onResult) {
  if (hasLive()) return db.live(sql, args, onResult, { onError: (e) => status(errorText(e), true) });
  // Fallback: query now, after each of this tab's writes, and every second.
  let stopped = false;
  const run = async (reason) => {
    if (stopped) return;
    try {
      const r = await db.query(sql, args);
      if (!stopped) onResult({ ...r, reason });
    } catch (e) {
      if (!stopped) status(errorText(e), true);
    }
  };
  const poller = { run };
  pollers.add(poller);
  await run('initial');
  const timer = setInterval(() => run('change'), 1000);
  return {
    async unsubscribe() {
      stopped = true;
      clearInterval(timer);
      pollers.delete(poller);
    },
  };
}

/** After a write of this tab: live queries refresh themselves; polled ones are re-run now. */
async function afterWrite() {
  if (!hasLive()) await Promise.all([...pollers].map((p) => p.run('change')));
}

// ---- the list ----

let listSub = null;
let listGeneration = 0;

function renderNotes(result) {
  const ul = $('notes');
  ul.replaceChildren();
  for (const n of result.rows) {
    const li = document.createElement('li');
    li.dataset.id = n.id;
    if (editor?.id === n.id) li.className = 'editing';
    const h = document.createElement('h3');
    h.textContent = n.title;
    const body = document.createElement('div');
    body.className = 'body';
    body.textContent = n.body;
    const meta = document.createElement('div');
    meta.className = 'meta';
    for (const t of n.tags ?? []) {
      const s = document.createElement('span');
      s.className = 't';
      s.textContent = t;
      meta.append(s);
    }
    const at = document.createElement('span');
    at.textContent = n.created_at instanceof Date ? n.created_at.toLocaleString() : String(n.created_at);
    meta.append(at);
    if (n.distance !== undefined && n.distance !== null) {
      const d = document.createElement('span');
      d.className = 'distance';
      d.textContent = `distance ${Number(n.distance).toFixed(3)}`;
      meta.append(d);
    }
    const edit = document.createElement('button');
    edit.textContent = 'Edit';
    edit.className = 'edit';
    edit.onclick = () => startEdit(n);
    const del = document.createElement('button');
    del.textContent = 'Delete';
    del.className = 'delete';
    del.onclick = () => remove(n.id);
    meta.append(edit, del);
    li.append(h, body, meta);
    ul.append(li);
  }
  $('mode').textContent = state.search
    ? `${result.rows.length} nearest to “${state.searchText}” (ORDER BY embedding <=> $1 LIMIT 10, HNSW)`
    : `${result.rows.length} note${result.rows.length === 1 ? '' : 's'}${state.tag ? ` tagged “${state.tag}”` : ''}`;
  $('clear').hidden = !state.search && !state.tag;
}

async function subscribeList() {
  const generation = ++listGeneration;
  const old = listSub;
  listSub = null;
  await old?.unsubscribe();
  const cols = 'id, title, body, tags, created_at';
  let sql;
  let args;
  if (state.search) {
    sql = `SELECT ${cols}, embedding <=> $1 AS distance FROM notes
           WHERE embedding IS NOT NULL AND ($2::text IS NULL OR $2 = ANY(tags))
           ORDER BY embedding <=> $1 LIMIT 10`;
    args = [state.search, state.tag];
  } else {
    sql = `SELECT ${cols} FROM notes WHERE $1::text IS NULL OR $1 = ANY(tags) ORDER BY created_at DESC, id DESC`;
    args = [state.tag];
  }
  const sub = await liveQuery(sql, args, (r) => {
    if (generation === listGeneration) renderNotes(r);
  });
  if (generation === listGeneration) listSub = sub;
  else await sub.unsubscribe();
}

function renderTags(result) {
  const all = [...new Set(result.rows.flatMap((r) => r.tags ?? []))].sort();
  const span = $('tagfilter');
  span.replaceChildren();
  for (const t of all) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = t;
    b.dataset.tag = t;
    if (state.tag === t) b.className = 'on';
    b.onclick = () => {
      state.tag = state.tag === t ? null : t;
      for (const o of span.children) o.className = o.dataset.tag === state.tag ? 'on' : '';
      subscribeList();
    };
    span.append(b);
  }
}

// ---- writes ----

async function save(e) {
  e.preventDefault();
  const title = $('title').value.trim();
  const body = $('body').value;
  const tags = parseTags($('tags').value);
  if (!title) return;
  const embedding = noteEmbedding(title, body, tags);
  try {
    if (editor) {
      const { session, id } = editor;
      await session.query('UPDATE notes SET title = $1, body = $2, tags = $3, embedding = $4 WHERE id = $5', [title, body, tags, embedding, id]);
      await session.query('COMMIT');
      endEdit();
      status('Saved.');
    } else {
      await db.query('INSERT INTO notes (title, body, tags, embedding) VALUES ($1, $2, $3, $4)', [title, body, tags, embedding]);
      status('Added.');
    }
    $('editor').reset();
    await afterWrite();
  } catch (err) {
    status(errorText(err), true);
  }
}

async function startEdit(note) {
  if (editor) await cancelEdit();
  const session = await db.connect();
  try {
    await session.query('BEGIN');
    // NOWAIT: a note another tab is editing fails at once with 55P03.
    const { rows } = await session.query('SELECT id, title, body, tags FROM notes WHERE id = $1 FOR UPDATE NOWAIT', [note.id]);
    if (!rows.length) throw Object.assign(new Error('This note was deleted.'), { code: '' });
    const n = rows[0];
    editor = { session, id: n.id };
    $('title').value = n.title;
    $('body').value = n.body;
    $('tags').value = (n.tags ?? []).join(', ');
    $('save').textContent = 'Save';
    $('cancel').hidden = false;
    status(`Editing note ${n.id} (its row is locked until Save or Cancel).`);
    document.querySelector(`#notes li[data-id="${n.id}"]`)?.classList.add('editing');
    $('title').focus();
  } catch (e) {
    await session.query('ROLLBACK').catch(() => {});
    session.release();
    status(e.code === '55P03' ? `Note ${note.id} is being edited in another tab.` : errorText(e), true);
  }
}

function endEdit() {
  if (!editor) return;
  editor.session.release();
  document.querySelector('#notes li.editing')?.classList.remove('editing');
  editor = null;
  $('save').textContent = 'Add note';
  $('cancel').hidden = true;
}

async function cancelEdit() {
  if (!editor) return;
  await editor.session.query('ROLLBACK').catch(() => {});
  endEdit();
  $('editor').reset();
  status('');
}

async function remove(id) {
  try {
    if (editor?.id === id) await cancelEdit();
    // NOWAIT: deleting a note another tab is editing fails at once with 55P03.
    await db.transaction(async (tx) => {
      await tx.query('SELECT id FROM notes WHERE id = $1 FOR UPDATE NOWAIT', [id]);
      await tx.query('DELETE FROM notes WHERE id = $1', [id]);
    }, { retries: 0 });
    status('Deleted.');
    await afterWrite();
  } catch (e) {
    status(e.code === '55P03' ? `Note ${id} is being edited in another tab.` : errorText(e), true);
  }
}

async function search() {
  const text = $('query').value.trim();
  const v = text ? embed(text) : null;
  state.search = v && v.some((x) => x !== 0) ? v : null;
  state.searchText = text;
  await subscribeList();
}

// ---- sessions and locks panel (polled: system views raise no events) ----

async function pollSessions() {
  try {
    const [{ rows: sessions }, { rows: locks }] = [
      await monitor.query(`SELECT pid, state, backend_xid AS xid, wait_event_type AS wait, query
                           FROM pg_stat_activity ORDER BY pid`),
      await monitor.query(`SELECT pid, locktype, relation::regclass AS rel, transactionid AS xid, mode, granted
                           FROM pg_locks ORDER BY pid, locktype, mode`),
    ];
    // This tab's sessions, by their ids now (a new leader renumbers them).
    const mine = new Set([db.processID, monitor.processID, editor?.session.processID].filter((x) => x != null));
    // Session ids belong to one leader epoch: shown as they are now.
    $('session').textContent = `session: ${db.processID ?? '–'}`;
    const box = $('sessions');
    box.replaceChildren();
    for (const s of sessions) {
      const div = document.createElement('div');
      div.className = `session${mine.has(s.pid) ? ' mine' : ''}`;
      div.dataset.pid = s.pid;
      div.dataset.state = s.state ?? '';
      const who = s.pid === monitor.processID ? ' (this tab, this panel)' : mine.has(s.pid) ? ' (this tab)' : '';
      const head = document.createElement('div');
      head.innerHTML = '<b></b> <span class="state"></span> <span class="xid"></span>';
      head.querySelector('b').textContent = `pid ${s.pid}${who}`;
      head.title = s.query ?? '';
      head.querySelector('.state').textContent = s.state ?? '';
      head.querySelector('.xid').textContent = s.xid ? `xid ${s.xid}` : '';
      if (s.wait) head.querySelector('.state').classList.add('waiting');
      const held = locks.filter((l) => l.pid === s.pid);
      const ul = document.createElement('ul');
      for (const l of held) {
        const li = document.createElement('li');
        li.dataset.locktype = l.locktype;
        li.dataset.mode = l.mode;
        li.textContent = `${l.locktype}${l.rel ? ` ${l.rel}` : ''}${l.xid ? ` xid ${l.xid}` : ''} ${l.mode}${l.granted ? '' : ' (waiting)'}`;
        if (!l.granted) li.className = 'waiting';
        ul.append(li);
      }
      div.append(head, ul);
      box.append(div);
    }
  } catch (e) {
    $('sessions').textContent = errorText(e);
  }
  setTimeout(pollSessions, 500);
}

// ---- export / import ----

function setupDumpRestore() {
  const exp = $('export');
  const imp = $('import');
  if (typeof db.dump !== 'function') {
    exp.disabled = true;
    exp.title = 'Needs db.dump() in the neuraldb package (not in this build yet)';
  } else {
    exp.onclick = async () => {
      try {
        const sql = await db.dump();
        const a = document.createElement('a');
        a.href = URL.createObjectURL(new Blob([sql], { type: 'application/sql' }));
        a.download = `${dbName}-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.sql`;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
        status('Exported.');
      } catch (e) {
        status(errorText(e), true);
      }
    };
  }
  if (typeof db.restore !== 'function') {
    imp.disabled = true;
    imp.title = 'Needs db.restore() in the neuraldb package (not in this build yet)';
  } else {
    imp.onclick = () => $('import-file').click();
    $('import-file').onchange = async (e) => {
      const file = e.target.files[0];
      e.target.value = '';
      if (!file) return;
      try {
        // A dump of this app: it replaces the notes, in one transaction
        // with the drop (all or nothing).
        await db.restore(`DROP TABLE IF EXISTS public.notes CASCADE;\n${await file.text()}`);
        status(`Imported ${file.name}.`);
        await afterWrite();
      } catch (err) {
        status(errorText(err), true);
      }
    };
  }
}

// ---- start ----

async function ensureSchema() {
  // Several tabs may start at once: an advisory lock orders them, and the
  // first one creates the table and its index.
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7201)');
    const { rows } = await tx.query("SELECT count(*)::int AS n FROM pg_class WHERE relname = 'notes' AND relkind = 'r'");
    if (rows[0].n === 0) for (const sql of SCHEMA) await tx.query(sql);
  });
}

async function main() {
  try {
    db = await NeuralDB.open(dbName, { int8: 'number' });
    monitor = await db.connect();
    await ensureSchema();
  } catch (e) {
    status(`Cannot open the database: ${errorText(e)}`, true);
    return;
  }
  $('live').textContent = hasLive() ? 'live: db.live' : 'live: polling every 1 s (db.live not in this build)';
  $('editor').addEventListener('submit', save);
  $('cancel').onclick = cancelEdit;
  $('search').onclick = search;
  $('query').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') search();
  });
  $('clear').onclick = () => {
    state.tag = null;
    state.search = null;
    $('query').value = '';
    for (const o of $('tagfilter').children) o.className = '';
    subscribeList();
  };
  setupDumpRestore();
  await liveQuery('SELECT tags FROM notes', [], renderTags);
  await subscribeList();
  pollSessions();
  window.notesReady = true;
}

main();
