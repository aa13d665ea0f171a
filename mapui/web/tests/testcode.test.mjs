import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';

// A map call that returns the Map itself, made as the value of page.evaluate, makes playwright
// serialize the whole MapLibre Map back to node on every call (seal.test once spent 44 of its
// 126 CPU-s so). Such calls are made for their effect, in braces: evaluate(() => { m.jumpTo(…); }).
const returnsMap = /evaluate\(\s*(?:async\s*)?\([^)]*\)\s*=>\s*window\.bwMap\??\.(?:jumpTo|flyTo|easeTo|panTo|resize|setZoom|setCenter|setBearing|setPitch|fitBounds|setLayoutProperty|setPaintProperty|setFilter|addLayer|removeLayer|addSource|removeSource|setStyle|triggerRepaint|on|once|off)\(/;

test('browser tests never return the Map from page.evaluate', async () => {
  const dir = new URL('.', import.meta.url);
  const bad = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.mjs') && n !== 'testcode.test.mjs')) {
    (await readFile(new URL(name, dir), 'utf8')).split('\n').forEach((line, i) => {
      if (returnsMap.test(line)) bad.push(`${name}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(bad, [], 'wrap the call in braces so that evaluate returns nothing');
});

test('the check catches the call that returns the Map, and not the one in braces', () => {
  assert.ok(returnsMap.test("await page.evaluate((c) => window.bwMap.jumpTo({ center: c, zoom: 11 }), at);"));
  assert.ok(returnsMap.test('await page.evaluate(() => window.bwMap?.resize());'));
  assert.ok(!returnsMap.test("await page.evaluate((c) => { window.bwMap.jumpTo({ center: c, zoom: 11 }); }, at);"));
  assert.ok(!returnsMap.test('await page.evaluate(() => window.bwMap.getCenter().toArray());'));
});
