// Fails when src/lib/api-schema.d.ts is not what openapi-typescript generates from the server's
// OpenAPI document (crates/server/tests/snapshots/openapi.json, itself pinned by the server's
// snapshot test). Fix with `npm run api:generate`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'api-types-'));
try {
  const out = join(dir, 'api-schema.d.ts');
  execFileSync(process.execPath, [join(web, 'node_modules/openapi-typescript/bin/cli.js'), join(web, '../crates/server/tests/snapshots/openapi.json'), '-o', out], { stdio: 'pipe' });
  const fresh = readFileSync(out, 'utf8');
  const committed = readFileSync(join(web, 'src/lib/api-schema.d.ts'), 'utf8');
  if (fresh !== committed) {
    console.error('src/lib/api-schema.d.ts is stale: the OpenAPI document changed. Run `npm run api:generate` in web/ and review the diff.');
    process.exit(1);
  }
  console.log('API types match the OpenAPI document');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
