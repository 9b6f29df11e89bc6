// Opens Lepton HTML reports in headless Chromium (playwright-core, Debian's /usr/bin/chromium) and
// prints one JSON document: per page, the console errors and page errors, each chart's state
// (rendered, canvas size, its series and point counts, read back through ECharts' own API), the
// table's rows, how long the page took to be ready, and where its screenshot went.
//
// usage: NODE_PATH=web/node_modules node tests/tools/check_report.cjs OUT_DIR REPORT.html...
//   LEPTON_CHROMIUM overrides the browser (default /usr/bin/chromium); LEPTON_READY_JS replaces the
//   readiness test (a JS expression; default: the report's body[data-ready]), e.g. for a peer's page;
//   LEPTON_PAGE_TIMEOUT_MS how long a page may take (default 30000).
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');
const { chromium } = require('playwright-core');

async function check(browser, file, outDir) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const consoleErrors = [], pageErrors = [], requests = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
  const limit = Number(process.env.LEPTON_PAGE_TIMEOUT_MS || 30000);
  const started = Date.now();
  let ready = false, failure = null;
  try {
    await page.goto('file://' + path.resolve(file), { waitUntil: 'load', timeout: limit });
    await page.waitForFunction(process.env.LEPTON_READY_JS || 'document.body.getAttribute("data-ready") === "true"',
                               null, { timeout: Math.max(1000, limit - (Date.now() - started)), polling: 20 });
    ready = true;
  } catch (e) {
    failure = String(e.message || e).split('\n')[0];
  }
  const readyMs = Date.now() - started;
  if (!ready) {  // a page still busy would not answer evaluate(): report what is known
    return { file, ready, readyMs, failure, consoleErrors, pageErrors, requests, charts: [], report: null, tableRows: 0 };
  }
  const state = await page.evaluate(() => {
    const charts = Array.from(document.querySelectorAll('.chart')).map((el) => {
      const canvas = el.querySelector('canvas');
      const instance = window.echarts && window.echarts.getInstanceByDom(el);
      const option = instance ? instance.getOption() : null;
      const visible = !el.closest('[hidden]');
      return {
        id: el.id,
        visible,
        rendered: el.getAttribute('data-rendered') === 'true',
        canvas: canvas ? { width: canvas.width, height: canvas.height } : null,
        series: option ? option.series.map((s) => ({ name: s.name || '', type: s.type, points: (s.data || []).length })) : [],
      };
    });
    return {
      title: document.title,
      report: window.leptonReport ? { charts: window.leptonReport.charts, rendered: window.leptonReport.rendered,
                                      errors: window.leptonReport.errors, timings: window.leptonReport.timings } : null,
      navigation: performance.getEntriesByType('navigation').map((n) => ({ domInteractive: Math.round(n.domInteractive),
                                                                           loadEnd: Math.round(n.loadEventEnd) }))[0],
      charts,
      tableRows: document.querySelectorAll('#trials-table tbody tr').length,
      tableColumns: Array.from(document.querySelectorAll('#trials-table thead th')).map((th) => th.textContent),
    };
  });
  const screenshot = path.join(outDir, path.basename(file, '.html') + '.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.close();
  return Object.assign({ file, ready, readyMs, consoleErrors, pageErrors, requests, screenshot }, state);
}

(async () => {
  const [outDir, ...files] = process.argv.slice(2);
  if (!outDir || files.length === 0) {
    console.error('usage: check_report.cjs OUT_DIR REPORT.html...');
    process.exit(2);
  }
  fs.mkdirSync(outDir, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lepton-chromium-'));
  const launchStarted = Date.now();
  // launchPersistentContext takes the fresh --user-data-dir; the flags keep Chromium off the network.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.LEPTON_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  const launchMs = Date.now() - launchStarted;
  const pages = [];
  try {
    const browser = { newPage: (options) => context.newPage().then(async (p) => { await p.setViewportSize(options.viewport); return p; }) };
    for (const file of files) pages.push(await check(browser, file, outDir));
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify({ launchMs, pages }, null, 1) + '\n');
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
