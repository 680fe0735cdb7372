// NeuralDB's engine called directly inside a benchmark's dedicated worker,
// as the package's own worker (pkg/worker.js) calls it: the lowest-overhead
// way to run one statement per engine call, and how the peers are hosted too.
import init, { Database } from '/pkg/wasm/neuraldb.js';

export { init, Database };

/**
 * A new session of `db` and a function that runs one statement on it and
 * returns its results (throwing on an error).
 */
export function runner(db) {
  const sid = db.connect();
  return (sql, params = []) => {
    let out = db.submit(sid, sql, params);
    // A CREATE INDEX yields between slices: drive it to the end (the
    // package's worker does this between other tabs' requests).
    while (out === undefined) {
      db.work();
      const done = db.takeCompletions();
      if (done.length) out = done[0][1];
    }
    if (out.error) throw new Error(`${sql.slice(0, 60)}: ${out.error.code} ${out.error.message}`);
    return out.results;
  };
}
