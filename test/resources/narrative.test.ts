import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkNarrativeXhtml, narrativeProblems } from '../../src/resources/fhir/narrative.js';

const open = '<div xmlns="http://www.w3.org/1999/xhtml">';
const wrap = (inner: string): string => `${open}${inner}</div>`;

test('accepts ordinary generated narratives', () => {
  const good = [
    wrap('Everywoman, Eve. SSN:\n 444222222'),
    wrap('<p><b>Name</b>: Peter &quot;Jim&quot; Chalmers &amp; co &#233; &#xE9; &lt;x&gt;</p>'),
    wrap('<table><tbody><tr><td colspan="2" style="color: red; font-weight: bold">x</td></tr></tbody></table>'),
    wrap(
      '<a href="https://example.org/p?a=1&amp;b=2">link</a> <a href="Patient/123">rel</a> <a href="#frag">f</a> <a name="n">n</a>',
    ),
    wrap('<a href="mailto:someone@example.org">m</a><br/><hr />'),
    wrap('<img src="data:image/png;base64,iVBORw0KGgo=" alt="photo"/>'),
    `${open}<div xmlns="http://www.w3.org/1999/xhtml">nested ns</div></div>`,
    wrap("<span title='single quoted'>s</span>"),
  ];
  for (const div of good) assert.equal(checkNarrativeXhtml(div), undefined, div);
});

const refused: readonly [string, string, string][] = [
  ['script element', wrap('<script>alert(1)</script>'), narrativeProblems.active],
  ['uppercase SCRIPT element', wrap('<SCRIPT>alert(1)</SCRIPT>'), narrativeProblems.active],
  ['style element', wrap('<style>p{}</style>x'), narrativeProblems.active],
  ['form', wrap('<form action="x">x</form>'), narrativeProblems.active],
  ['iframe', wrap('<iframe src="https://e.org"></iframe>'), narrativeProblems.active],
  ['object', wrap('<object data="x"></object>'), narrativeProblems.active],
  ['embed', wrap('<embed src="x"/>'), narrativeProblems.active],
  ['svg', wrap('<svg><script/></svg>'), narrativeProblems.active],
  ['element outside the allowlist', wrap('<marquee>x</marquee>'), narrativeProblems.element],
  ['onclick', wrap('<p onclick="x()">x</p>'), narrativeProblems.eventHandler],
  ['ONMOUSEOVER', wrap('<p ONMOUSEOVER="x()">x</p>'), narrativeProblems.eventHandler],
  ['javascript: href', wrap('<a href="javascript:alert(1)">x</a>'), narrativeProblems.url],
  ['javascript: with a tab and mixed case', wrap('<a href="JaVa\tScRiPt:alert(1)">x</a>'), narrativeProblems.url],
  [
    'javascript: hidden behind character references',
    wrap('<a href="&#106;avascript&#58;alert(1)">x</a>'),
    narrativeProblems.url,
  ],
  ['vbscript: href', wrap('<a href="vbscript:x">x</a>'), narrativeProblems.url],
  ['data: href', wrap('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>'), narrativeProblems.url],
  ['svg data: image', wrap('<img src="data:image/svg+xml;base64,PHN2Zz4="/>'), narrativeProblems.url],
  ['style with expression()', wrap('<p style="width: expression(alert(1))">x</p>'), narrativeProblems.style],
  ['style with url()', wrap('<p style="background: url(https://e.org/t.png)">x</p>'), narrativeProblems.style],
  ['style with a CSS escape', wrap('<p style="background: u\\72l(x)">x</p>'), narrativeProblems.style],
  ['attribute outside the allowlist', wrap('<p data-x="1">x</p>'), narrativeProblems.attribute],
  ['xlink attribute', wrap('<a xlink:href="x">x</a>'), narrativeProblems.namespace],
  ['foreign namespace', wrap('<p xmlns="http://www.w3.org/2000/svg">x</p>'), narrativeProblems.namespace],
  ['comment', wrap('<!-- hidden -->x'), narrativeProblems.markup],
  ['CDATA', wrap('<![CDATA[x]]>'), narrativeProblems.markup],
  ['processing instruction', wrap('<?xml-stylesheet href="x"?>x'), narrativeProblems.markup],
  ['HTML named entity', wrap('a&nbsp;b'), narrativeProblems.entity],
  ['bare ampersand', wrap('Tom & Jerry'), narrativeProblems.entity],
  ['control character', wrap('a\u0001b'), narrativeProblems.characters],
  ['no namespace on the root', '<div>x</div>', narrativeProblems.root],
  ['wrong root element', '<p xmlns="http://www.w3.org/1999/xhtml">x</p>', narrativeProblems.root],
  ['leading text', ` ${wrap('x')}`, narrativeProblems.root],
  ['text after the root', `${wrap('x')}tail`, narrativeProblems.root],
  ['second root', `${wrap('x')}${wrap('y')}`, narrativeProblems.root],
  ['unclosed element', wrap('<p>x'), narrativeProblems.malformed],
  ['mismatched end tag', wrap('<p>x</b>'), narrativeProblems.malformed],
  ['unquoted attribute', wrap('<p class=x>x</p>'), narrativeProblems.malformed],
  ['duplicate attribute', wrap('<p class="a" class="b">x</p>'), narrativeProblems.malformed],
  ['whitespace only (txt-2)', wrap('  \n  <p> </p>'), narrativeProblems.empty],
  ['nested beyond the cap', wrap(`${'<span>'.repeat(70)}x${'</span>'.repeat(70)}`), narrativeProblems.depth],
];

for (const [name, div, problem] of refused) {
  test(`refuses: ${name}`, () => {
    assert.equal(checkNarrativeXhtml(div), problem);
  });
}

test('a 256 KiB narrative is checked in well under a second', () => {
  const div = wrap('<p>Lorem ipsum dolor sit amet &amp; more</p>'.repeat(6000));
  const started = performance.now();
  assert.equal(checkNarrativeXhtml(div), undefined);
  assert.ok(performance.now() - started < 1000);
});
