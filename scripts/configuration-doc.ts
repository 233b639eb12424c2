/**
 * `npm run docs:configuration` writes docs/configuration.md from the
 * settings table in src/config/settings.ts, the one place a setting's
 * default and meaning are written down. test/config/config.test.ts
 * fails while the committed page differs from what this renders, so a
 * changed setting cannot ship with a stale page.
 */
import { writeFile } from 'node:fs/promises';
import { settings, type Setting } from '../src/config/settings.js';

/** Where the generated page lives; the test reads the same address. */
export const configurationDocUrl = new URL('../docs/configuration.md', import.meta.url);

/** The command that regenerates the page, named in the page and in the test's failure message. */
export const regenerateCommand = 'npm run docs:configuration';

/** A table cell: a `|` would end the cell early and a line break would end the row. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll(/\s*\n\s*/g, ' ');
}

/** settings.ts names pages as `docs/x.md` (read from the repository root); on a page in docs/ they become links. */
function linkPages(text: string): string {
  return text.replaceAll(/\bdocs\/([a-z0-9-]+\.md)/g, '[$1]($1)');
}

/** The markdown of docs/configuration.md for these settings, in their order. */
export function renderConfigurationDoc(list: readonly Setting[] = settings): string {
  const rows = list.map(
    (setting) => `| \`${setting.name}\` | ${cell(setting.default)} | ${linkPages(cell(setting.meaning))} |`,
  );
  return [
    '# Configuration',
    '',
    `<!-- Generated from src/config/settings.ts by \`${regenerateCommand}\`; edit the settings there, not this page. -->`,
    '',
    'Caduceus reads these environment variables once, at start, and validates',
    'every one: an invalid value stops the server with an error that names the',
    'setting. A page linked from a row says more about that part of the server;',
    '[README.md](README.md) lists every page.',
    '',
    '| setting | default | meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (import.meta.filename === process.argv[1]) {
  await writeFile(configurationDocUrl, renderConfigurationDoc());
  console.log(`wrote docs/configuration.md (${settings.length} settings)`);
}
