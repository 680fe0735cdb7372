// The demo's vector panel: points in a `vector(16)` column under an HNSW
// index, drawn by their 2-D coordinates (the vectors are a fixed lifting
// of those, so nearness on the canvas is nearness in the index's space).
// Click: the 10 nearest by `<->` through the index, highlighted, with the
// query's time and plan. "Add 100 here" inserts points around the last
// click; other tabs see them on their next redraw (every 2 s).
const DIMS = 16;
const W = 2; // the canvas shows [-W, W] on both axes

/** (x, y) → 16 dimensions: the point, sines and cosines of it (smooth, so
 * 2-D neighbours stay neighbours, and distances are not just 2-D ones). */
export function lift(x, y) {
  const v = new Float32Array(DIMS);
  v[0] = x;
  v[1] = y;
  for (let k = 1; k <= 7; k++) {
    v[2 * k] = Math.sin(k * x) / k;
    v[2 * k + 1] = Math.cos(k * y) / k;
  }
  return v;
}

function seeded(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `n` points in a few clusters around `center` (or the whole plane). */
function cloud(n, seed, center) {
  const r = seeded(seed);
  const g = () => Math.sqrt(-2 * Math.log(r() || 1e-9)) * Math.cos(2 * Math.PI * r());
  const centers = center ? [center] : Array.from({ length: 6 }, () => [r() * 3 - 1.5, r() * 3 - 1.5]);
  return Array.from({ length: n }, () => {
    const [cx, cy] = centers[Math.floor(r() * centers.length)];
    const spread = center ? 0.12 : 0.35;
    return [Math.max(-W, Math.min(W, cx + g() * spread)), Math.max(-W, Math.min(W, cy + g() * spread))];
  });
}

/** `db`: a session of its own (`NeuralDB#connect()`). */
export function vectorPanel(db, $) {
  const canvas = $('points');
  const ctx = canvas.getContext('2d');
  let points = [];
  let hits = [];
  let query = null;
  const toPx = ([x, y]) => [((x + W) / (2 * W)) * canvas.width, ((W - y) / (2 * W)) * canvas.height];
  const fromPx = (px, py) => [(px / canvas.width) * 2 * W - W, W - (py / canvas.height) * 2 * W];

  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#8da2b8';
    for (const p of points) {
      const [px, py] = toPx(p.xy);
      ctx.fillRect(px - 1, py - 1, 2, 2);
    }
    const shown = new Set(hits.map((h) => h.id));
    ctx.fillStyle = '#d2462f';
    for (const p of points) {
      if (!shown.has(p.id)) continue;
      const [px, py] = toPx(p.xy);
      ctx.beginPath();
      ctx.arc(px, py, 4, 0, 2 * Math.PI);
      ctx.fill();
    }
    if (query) {
      const [px, py] = toPx(query);
      ctx.strokeStyle = '#1d2b3a';
      ctx.beginPath();
      ctx.moveTo(px - 6, py);
      ctx.lineTo(px + 6, py);
      ctx.moveTo(px, py - 6);
      ctx.lineTo(px, py + 6);
      ctx.stroke();
    }
    $('vcount').textContent = `${points.length} points`;
  }

  async function ensureTable() {
    await db.exec(`CREATE TABLE IF NOT EXISTS demo_points (id serial PRIMARY KEY, x real NOT NULL, y real NOT NULL, e vector(${DIMS}) NOT NULL);
      CREATE INDEX IF NOT EXISTS demo_points_e ON demo_points USING hnsw (e vector_l2_ops)`);
  }

  async function reload() {
    const r = await db.query('SELECT id, x, y FROM demo_points', [], { rowMode: 'array' });
    points = r.rows.map(([id, x, y]) => ({ id: Number(id), xy: [x, y] }));
    draw();
  }

  async function insert(xys) {
    await db.query('BEGIN');
    try {
      for (const [x, y] of xys) {
        await db.query('INSERT INTO demo_points (x, y, e) VALUES ($1, $2, $3)', [x, y, lift(x, y)]);
      }
      await db.query('COMMIT');
    } catch (e) {
      await db.query('ROLLBACK').catch(() => {});
      $('vtime').textContent = `ERROR ${e.code}: ${e.message}`;
    }
    await reload();
  }

  async function search(xy) {
    query = xy;
    const sql = 'SELECT id, x, y, e <-> $1 AS distance FROM demo_points ORDER BY e <-> $1 LIMIT 10';
    const t0 = performance.now();
    try {
      const r = await db.query(sql, [lift(...xy)]);
      const ms = performance.now() - t0;
      hits = r.rows.map((row) => ({ id: Number(row.id), distance: row.distance }));
      const plan = await db.query(`EXPLAIN ${sql}`, [lift(...xy)], { rowMode: 'array' });
      $('vtime').textContent = `${hits.length} nearest in ${ms.toFixed(2)} ms`;
      $('vplan').textContent = plan.rows.map((row) => row[0]).join('\n');
      $('vhits').replaceChildren(...hits.map((h) => {
        const li = document.createElement('li');
        li.textContent = `#${h.id}  ${h.distance.toFixed(4)}`;
        return li;
      }));
    } catch (e) {
      $('vtime').textContent = `ERROR ${e.code}: ${e.message}`;
    }
    draw();
  }

  canvas.addEventListener('click', (ev) => {
    const rect = canvas.getBoundingClientRect();
    const px = ((ev.clientX - rect.left) / rect.width) * canvas.width;
    const py = ((ev.clientY - rect.top) / rect.height) * canvas.height;
    search(fromPx(px, py));
  });
  $('vload').onclick = async () => {
    await ensureTable();
    await insert(cloud(2000, Date.now() & 0xffff));
  };
  $('vadd').onclick = async () => {
    await ensureTable();
    await insert(cloud(100, Date.now() & 0xffff, query ?? [0, 0]));
    if (query) await search(query);
  };

  (async () => {
    try {
      await ensureTable();
      await reload();
    } catch (e) {
      $('vtime').textContent = `ERROR ${e.code}: ${e.message}`;
    }
    // Other tabs' inserts show up here.
    setInterval(() => reload().catch(() => {}), 2000);
  })();
}
