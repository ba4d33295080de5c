// Finding and building elements. User text (titles, prompts, options,
// answers) is only ever set with textContent or createElement, never parsed
// as HTML: el() and setText() are how every page puts text on screen.

export function $(sel, root) { return (root || document).querySelector(sel); }

export function $$(sel, root) {
  return Array.prototype.slice.call((root || document).querySelectorAll(sel));
}

// el('button', {className: 'x', text: 'Hi', type: 'button', dataset: {a: 1}}, [children])
export function el(tag, props, children) {
  const node = document.createElement(tag);
  if (props) {
    Object.keys(props).forEach(function (k) {
      const v = props[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'className') node.className = v;
      else if (k === 'dataset') Object.keys(v).forEach(function (d) { node.dataset[d] = v[d]; });
      else if (k === 'hidden') node.hidden = !!v;
      else if (k === 'disabled') node.disabled = !!v;
      else if (k === 'checked') node.checked = !!v;
      else if (k === 'value') node.value = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    });
  }
  if (children) {
    children.forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// Sets the text only when it differs, so an unchanged node is not touched.
export function setText(node, text) {
  text = text === undefined || text === null ? '' : String(text);
  if (node.textContent !== text) node.textContent = text;
}

export function on(node, ev, fn, opts) { node.addEventListener(ev, fn, opts || false); }

// Removes from the page, and forgets, the list rows ({li}) whose id was not
// seen in the render that just ran.
export function dropUnseen(rows, seen) {
  Object.keys(rows).forEach(function (id) {
    if (seen[id]) return;
    if (rows[id].li.parentNode) rows[id].li.parentNode.removeChild(rows[id].li);
    delete rows[id];
  });
}
