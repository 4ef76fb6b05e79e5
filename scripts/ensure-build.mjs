// Builds dist/ when it is missing or older than any source file (apps/, libs/, configs).
import { execSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const outputs = ['dist/apps/gateway/main.js', 'dist/apps/flaky-upstream/main.js'];
const inputs = ['apps', 'libs', 'tsconfig.json', 'nest-cli.json', 'package-lock.json'];

function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules') continue;
    max = Math.max(max, newest(join(path, entry)));
  }
  return max;
}

function oldest(paths) {
  let min = Infinity;
  for (const p of paths) {
    try {
      min = Math.min(min, statSync(p).mtimeMs);
    } catch {
      return 0;
    }
  }
  return min;
}

const built = oldest(outputs);
const source = Math.max(...inputs.map(newest));
if (built === 0 || built < source) {
  console.log('[breakwater] building (npm run build)…');
  execSync('npm run build --silent', { stdio: 'inherit' });
}
