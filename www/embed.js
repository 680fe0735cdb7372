// A TOY embedding for the Notes demo, NOT a language model: text is
// lower-cased and split into words; each word (weight 1) and each
// character trigram of " word " (weight 0.5) is hashed (FNV-1a) into one
// of 64 dimensions with a hashed sign, and the vector is L2-normalised.
// Deterministic and instant, so every tab and every reload computes the
// same vector; texts that share words or spellings land close under
// cosine distance, which is enough to show HNSW search end to end.
export const DIMS = 64;

function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function add(v, feature, weight) {
  const h = fnv1a(feature);
  v[h % DIMS] += (h & 0x80000000 ? -1 : 1) * weight;
}

/** The toy embedding of `text`: a Float32Array of DIMS, unit length (or all zeros for no words). */
export function embed(text) {
  const v = new Float32Array(DIMS);
  for (const word of String(text).toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    add(v, `w:${word}`, 1);
    const padded = ` ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) add(v, `t:${padded.slice(i, i + 3)}`, 0.5);
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < DIMS; i++) v[i] /= norm;
  return v;
}
