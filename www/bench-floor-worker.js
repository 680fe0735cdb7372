// The raw OPFS floor: what one durable commit of a ~200-byte WAL record
// costs with no database at all (append + flush on a sync access handle).
self.onmessage = async (e) => {
  const { n, recordBytes } = e.data;
  const root = await navigator.storage.getDirectory();
  const file = await root.getFileHandle('neuraldb-bench-floor.tmp', { create: true });
  const h = await file.createSyncAccessHandle();
  h.truncate(0);
  const record = new Uint8Array(recordBytes).fill(7);
  const times = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    h.write(record, { at });
    h.flush();
    times.push(performance.now() - t0);
    at += recordBytes;
  }
  h.close();
  await root.removeEntry('neuraldb-bench-floor.tmp');
  self.postMessage(times);
};
