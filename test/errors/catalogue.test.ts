import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { errorCatalogue, errorCodes, processErrorCodes } from '../../src/errors/index.js';

test('docs/errors.md lists exactly the catalogue, with the same statuses', async () => {
  const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| ([A-Z_]+) \| (\d{3}) \|/gm)].map((match) => [match[1], Number(match[2])] as const);
  assert.deepEqual(
    rows.map(([code]) => code).sort(),
    [...errorCodes].sort(),
    'every catalogue code is documented and every documented code exists',
  );
  for (const [code, status] of rows) {
    assert.equal(errorCatalogue[code as keyof typeof errorCatalogue].status, status, `${code ?? ''} status`);
  }
});

test('catalogue codes are UPPER_SNAKE and messages are safe fixed sentences', () => {
  for (const code of errorCodes) {
    assert.match(code, /^[A-Z]+(_[A-Z]+)*$/);
    const { status, message } = errorCatalogue[code];
    assert.ok(status >= 400 && status <= 599, `${code} has an error status`);
    assert.ok(message.length > 0 && !/[{}<>]/.test(message), `${code} message is plain text`);
  }
});

test('docs/errors.md lists exactly the process error codes, each with its class', async () => {
  const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Operator-facing errors'));
  const rows = [...section.matchAll(/^\| ([A-Z_]+) \| ([A-Z][A-Za-z]+) \|/gm)].map((match) => match[1]);
  assert.deepEqual(rows.sort(), [...processErrorCodes].sort());
  for (const code of processErrorCodes) {
    assert.match(code, /^[A-Z]+(_[A-Z0-9]+)*$/);
    assert.ok(!(code in errorCatalogue), `${code} is not also an API code`);
  }
});
