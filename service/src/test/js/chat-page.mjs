// The web chat page in headless Debian chromium (playwright-core; never a downloaded browser): type a message, see
// streamed text arrive and tokens/s shown, then a long answer stopped with the Stop button.
// Usage: node chat-page.mjs PAGE_URL. Prints one "ok <check>" line per check; exits non-zero on failure.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const [url] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(60_000);
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('model').textContent !== 'qwen-serve');
  ok('page loaded: ' + await page.textContent('#model'));

  // a short answer, streamed to the end
  await page.fill('#max_tokens', '12');
  await page.fill('#temperature', '0');
  await page.fill('#input', 'Hello there');
  await page.press('#input', 'Enter');
  await page.waitForSelector('.msg.assistant[data-state="done"]');
  const answer = await page.textContent('.msg.assistant');
  assert.ok(answer.length > 0, 'an answer arrived');
  assert.equal(await page.textContent('.msg.user'), 'Hello there');
  assert.match(await page.textContent('#status'), /tokens\/s/);
  ok('streamed answer: ' + JSON.stringify(answer.slice(0, 40)) + ' · ' + await page.textContent('#status'));

  // a long answer: text must arrive piece by piece, then Stop ends it
  await page.fill('#max_tokens', '3000');
  await page.fill('#temperature', '0.8');
  await page.fill('#input', 'Tell me a long story');
  await page.press('#input', 'Enter');
  const second = page.locator('.msg.assistant').nth(1);
  await page.waitForFunction(() => (document.querySelectorAll('.msg.assistant')[1]?.textContent.length ?? 0) > 0);
  const early = (await second.textContent()).length;
  await page.waitForFunction(n => document.querySelectorAll('.msg.assistant')[1].textContent.length > n, early);
  assert.equal(await second.getAttribute('data-state'), 'streaming', 'still streaming while text grows');
  ok('text grows while streaming (' + early + ' -> ' + (await second.textContent()).length + ' chars)');
  await page.click('#stop');
  await page.waitForSelector('.msg.assistant[data-state="stopped"]');
  assert.match(await page.textContent('#status'), /stopped/);
  assert.equal(await page.isDisabled('#stop'), true);
  ok('stopped: ' + await page.textContent('#status'));

  // the history goes with the next message
  await page.fill('#max_tokens', '4');
  await page.fill('#input', 'And then?');
  await page.press('#input', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('.msg.assistant[data-state="done"]').length === 2);
  assert.equal(await page.locator('.msg.user').count(), 3);
  ok('third turn answered with the history');
} finally {
  await browser.close();
}

function ok(name) {
  console.log('ok ' + name);
}
