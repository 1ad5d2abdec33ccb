/**
 * Builds the dashboard's page (dashboard/app) into dist/dashboard/site: one script and
 * one stylesheet, minified, named by their content's hash (so they can be cached for
 * good), and index.html naming them. Run by `npm run build` after tsc.
 */

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const site = join(root, 'dist', 'dashboard', 'site');
rmSync(site, { recursive: true, force: true });
mkdirSync(join(site, 'assets'), { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { app: 'dashboard/app/main.tsx', style: 'dashboard/app/style.css' },
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  outdir: join(site, 'assets'),
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((o) => basename(o));
const script = outputs.find((o) => o.startsWith('app-') && o.endsWith('.js'));
const style = outputs.find((o) => o.startsWith('style-') && o.endsWith('.css'));
if (!script || !style) throw new Error(`esbuild wrote ${outputs.join(', ')}: no app script or stylesheet`);
writeFileSync(
  join(site, 'index.html'),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>svirt-audit</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/${style}">
<script type="module" src="assets/${script}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The svirt-audit dashboard needs JavaScript; the same answers are in the CLI and the API (/v1).</noscript>
</body>
</html>
`,
);
