// The runnable examples of a README: every ```js fence, in order. ```ts fences are signatures and fragments
// (not run); a README's ```js blocks must run as written, as ES modules, in a fresh npm project.
export function jsExamples(markdown) {
  const out = [];
  const re = /^```js[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m; (m = re.exec(markdown)); ) out.push(m[1]);
  return out;
}
