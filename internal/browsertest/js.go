package browsertest

import "encoding/json"

// jsLib is evaluated in the page for the lookups CSS cannot express: an input
// by its <label>, a button or link by its visible text, and a short
// description of an element. Each lookup has a "why" twin that explains, for
// the failure message, why nothing was found.
const jsLib = `(() => {
  const norm = s => (s || '').replace(/\s+/g, ' ').trim();
  const quote = s => JSON.stringify(s);
  const textOf = el => norm(el.innerText || el.textContent);
  const shown = el => el.getClientRects().length > 0 &&
    getComputedStyle(el).visibility !== 'hidden';
  const labels = text => [...document.querySelectorAll('label')].filter(l => textOf(l) === norm(text));
  const allLabels = () => [...document.querySelectorAll('label')].map(l => quote(textOf(l))).join(', ') || 'none';
  const clickables = () => [...document.querySelectorAll(
    'a[href], button, input[type=submit], input[type=button], input[type=reset], [role=button], [role=link], summary'
  )].filter(shown);
  const nameOf = el => el.tagName === 'INPUT' ? norm(el.value) : (textOf(el) || norm(el.getAttribute('aria-label')));
  const matches = text => {
    const want = norm(text), all = clickables();
    const exact = all.filter(el => nameOf(el) === want);
    return exact.length ? exact : all.filter(el => nameOf(el).includes(want));
  };
  return {
    labelled: text => { const ls = labels(text); return ls.length === 1 ? ls[0].control : null; },
    labelledWhy: text => {
      const ls = labels(text);
      if (ls.length === 0) return 'no <label> has the text ' + quote(norm(text)) + ' (labels on the page: ' + allLabels() + ')';
      if (ls.length > 1) return ls.length + ' <label>s have the text ' + quote(norm(text));
      if (!ls[0].control) return 'the <label> ' + quote(norm(text)) + ' is not associated with a form control' +
        (ls[0].htmlFor ? ' (for=' + quote(ls[0].htmlFor) + ' names no labelable element)' : ' (no for= and no nested input)');
      return '';
    },
    clickable: text => { const m = matches(text); return m.length === 1 ? m[0] : null; },
    clickableWhy: text => {
      const m = matches(text);
      if (m.length === 0) return 'no visible button or link has the text ' + quote(norm(text)) +
        ' (buttons and links: ' + (clickables().map(el => quote(nameOf(el))).join(', ') || 'none') + ')';
      if (m.length > 1) return m.length + ' buttons or links contain ' + quote(norm(text)) + ': ' + m.map(el => quote(nameOf(el))).join(', ');
      return '';
    },
    describe: el => {
      if (!el) return 'nothing';
      let d = el.tagName.toLowerCase();
      if (el.id) d += '#' + el.id;
      if (el.getAttribute('name')) d += '[name=' + el.getAttribute('name') + ']';
      const text = norm(el.getAttribute('aria-label')) ||
        (el.tagName === 'INPUT' || el === document.body ? '' : textOf(el));
      if (text) d += ' ' + quote(text.length > 60 ? text.slice(0, 60) + '…' : text);
      return d;
    },
  };
})()`

// jsCall is the expression that calls jsLib's function fn with args, each
// passed as a JSON literal (so no value can break out of the string).
func jsCall(fn string, args ...string) string {
	s := jsLib + "." + fn + "("
	for i, a := range args {
		if i > 0 {
			s += ", "
		}
		s += jsString(a)
	}
	return s + ")"
}

// jsString quotes s as a JavaScript string literal. JSON is a subset of
// JavaScript, and encoding/json escapes U+2028 and U+2029 too.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals (bad UTF-8 becomes U+FFFD)
	return string(b)
}

// jsQuery is the expression for the first element that matches the CSS
// selector sel.
func jsQuery(sel string) string {
	return "document.querySelector(" + jsString(sel) + ")"
}
