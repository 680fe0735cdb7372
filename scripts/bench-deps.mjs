// What the browser benchmarks need before they start: the peers of
// bench/package.json in bench/node_modules (installed from its lockfile on
// first use, never by npm test) and the built wasm package.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export function ensureBenchDeps() {
  const bench = join(root, 'bench');
  const { dependencies } = JSON.parse(readFileSync(join(bench, 'package.json'), 'utf8'));
  if (Object.keys(dependencies).some((name) => !existsSync(join(bench, 'node_modules', name, 'package.json')))) {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', bench], { stdio: 'inherit' });
  }
  if (!existsSync(join(root, 'pkg', 'wasm', 'neuraldb_bg.wasm'))) {
    execFileSync('bash', [join(root, 'scripts', 'build-wasm.sh')], { stdio: 'inherit' });
  }
}
