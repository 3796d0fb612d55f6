// On the public verdict page (/v/<leaf>): a 码上监督 link to leave feedback
// about this enforcement action (web/feedback.html). Added by the supervision
// pages; the verdict page itself (verify.js) is untouched.
import { h } from './dom.js';
import { onLangChange } from './i18n.js';
import { sv } from './supervision-i18n.js';

const m = /^\/v\/(0x[0-9a-f]{64})$/.exec(location.pathname);
if (m) {
  const leaf = m[1];
  const box = h('aside', { class: 'card fb-invite', id: 'feedback-invite' });
  const draw = () => {
    box.replaceChildren(h('p', {}, sv('fb.link')), h('a', { href: `/feedback?leaf=${leaf}`, class: 'button primary', id: 'feedback-go' }, sv('fb.link.go')));
  };
  draw();
  onLangChange(draw);
  const main = document.getElementById('main');
  if (main) main.after(box);
  else document.body.appendChild(box);
}
