// Builds the console into dist/: index.html, app.js and app.css (uPlot's
// CSS included), each with a .gz sibling (zlib level 9) that the Go server
// serves to browsers that accept gzip. Runs on Node 18 and later:
//
//	npm ci && npm run build
//
// It fails when the console grows past its budget (BUDGET, gzipped), since
// an old duty-room PC must load it fast.

import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET = 300 * 1024;
const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, "dist");

fs.mkdirSync(dist, { recursive: true });
for (const f of fs.readdirSync(dist)) {
  if (f !== ".gitkeep") fs.rmSync(path.join(dist, f), { recursive: true, force: true });
}

// uPlot's notice travels with the bundle, as its MIT license asks.
const uplot = JSON.parse(fs.readFileSync(path.join(here, "node_modules/uplot/package.json"), "utf8"));
const notice = `/*! Shouwang console. Includes uPlot ${uplot.version}, (c) Leon Sorokin, MIT License. */`;

await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: "src/main.js" },
  outdir: dist,
  bundle: true,
  minify: true,
  format: "iife",
  // Old duty-room PCs (Windows, Kylin/UOS): Chrome and Firefox of about
  // 2019, Chromium-based Edge and 360/QQ browsers built on them.
  target: ["es2017", "chrome69", "firefox68", "edge79"],
  charset: "utf8",
  legalComments: "eof",
  banner: { js: notice, css: notice },
  logLevel: "warning",
});

const js = fs.readFileSync(path.join(dist, "app.js"));
const css = fs.readFileSync(path.join(dist, "app.css"));
const version = createHash("sha256").update(js).update(css).digest("hex").slice(0, 12);
const html = fs.readFileSync(path.join(here, "src/index.html"), "utf8").replaceAll("%VERSION%", version);
fs.writeFileSync(path.join(dist, "index.html"), html);

let total = 0;
const rows = [];
for (const name of ["index.html", "app.js", "app.css"]) {
  const raw = fs.readFileSync(path.join(dist, name));
  const gz = gzipSync(raw, { level: 9 });
  fs.writeFileSync(path.join(dist, name + ".gz"), gz);
  total += gz.length;
  rows.push(`  ${name.padEnd(12)} ${String(raw.length).padStart(8)} B  ${String(gz.length).padStart(8)} B gzipped`);
}
console.log(`console built into ${path.relative(process.cwd(), dist) || "."} (version ${version}):`);
console.log(rows.join("\n"));
console.log(`total gzipped: ${total} B (${(total / 1024).toFixed(1)} KB of a ${BUDGET / 1024} KB budget)`);
if (total > BUDGET) {
  console.error(`the console is over its budget: ${total} B gzipped > ${BUDGET} B`);
  process.exit(1);
}
